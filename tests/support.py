"""Helpers shared by tests."""

from __future__ import annotations

import time

from django.conf import settings


def wait_for_job(job, *, timeout: float = 30.0):
    """Poll the database until the job reaches a terminal state."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} still {job.status} after {timeout}s: {job.error_message}")


def bucket_keys(client) -> list[str]:
    response = client.list_objects_v2(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    return sorted(item["Key"] for item in response.get("Contents", []))


def broker_silenced(monkeypatch) -> list:
    """Tests that drive job runs themselves keep the suite's live worker out of them: what
    would be sent to the broker is recorded instead."""
    from jobs import tasks

    sent: list = []
    for task in (tasks.run_generation_job, tasks.store_generation_job, tasks.store_partial_image):
        monkeypatch.setattr(
            task, "apply_async", lambda *args, _name=task.name, **kwargs: sent.append(_name)
        )
    return sent


def embedded_default_env(tmp_path, **extra: str) -> dict[str, str]:
    """The environment of `make run`'s embedded default (SQLite, local files, a filesystem
    broker, the demo model only) in ``tmp_path``, for a subprocess of its own."""
    import os

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'atelier.sqlite3'}",
        "ATELIER_DATA_DIR": str(tmp_path),
        "AWS_STORAGE_BUCKET_NAME": "",
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_DEFAULT_QUEUE": "atelier",
        "OPENAI_API_KEY": "",
        "ATELIER_CONNECTIONS": "",
    }
    env.update(extra)
    for folder in ("media", "broker/processed", "broker/control"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    return env


def make_run(tmp_path, **extra: str):
    """``bash scripts/run-dev.sh`` (what `make run` starts: web and both worker stages) on
    the embedded default in ``tmp_path``, on a free port. A context manager yielding
    ``(base_url, env)``; the demo login is demo/demo. Every process is stopped after."""
    import contextlib
    import os
    import signal
    import socket
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    @contextlib.contextmanager
    def started():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = embedded_default_env(tmp_path, ATELIER_ADDR=f"127.0.0.1:{port}", **extra)
        log = (tmp_path / "make-run.log").open("w")
        script = subprocess.Popen(
            ["bash", "scripts/run-dev.sh"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if script.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        raise AssertionError(
                            "make run did not start:\n"
                            + (tmp_path / "make-run.log").read_text()[-3000:]
                        ) from None
                    time.sleep(0.3)
            workers_ready_by = time.monotonic() + 60
            while (tmp_path / "make-run.log").read_text().count(" ready.") < 2:
                if time.monotonic() > workers_ready_by:
                    raise AssertionError("make run's two workers did not start")
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}", env
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(script.pid, signal.SIGTERM)
            try:
                script.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(script.pid, signal.SIGKILL)
                script.wait()
            log.close()

    return started()
