"""The embedded default (SQLite, filesystem broker, demo model) under concurrent submits.

Real processes: the two Celery worker stages (I/O under gevent, CPU prefork) and web
requests from many threads at once, all writing one SQLite file, as `make run` does. Every
job must finish.
"""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBMITS = 24

SETUP = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    get_user_model().objects.create_user(username="solo", password="pw-solo-1234")
    """
)

SUBMIT_AND_WAIT = textwrap.dedent(
    """
    import sys, threading, time
    import django
    django.setup()
    from collections import Counter
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.test import Client
    from jobs.models import GenerationJob

    assert connection.vendor == "sqlite"
    submits = int(sys.argv[1])
    user = get_user_model().objects.get(username="solo")
    codes, barrier = [], threading.Barrier(submits)

    def submit(i):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        barrier.wait()
        response = client.post(
            "/", {"model": "demo", "prompt": f"a lighthouse number {i}", "n": 1},
            headers={"HX-Request": "true"},
        )
        codes.append(response.status_code)
        connections.close_all()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(submits)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    print("codes", sorted(Counter(codes).items()), flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = Counter(GenerationJob.objects.values_list("status", flat=True))
        if sum(statuses.values()) == submits and set(statuses) == {"succeeded"}:
            break
        if not statuses or set(statuses) - {"queued", "running", "succeeded"}:
            break
        time.sleep(0.5)
    print("statuses", sorted(statuses.items()), flush=True)
    """
)


@pytest.fixture
def embedded_default(tmp_path):
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
        "ATELIER_RATE_LIMIT_JOBS_PER_MINUTE": "1000",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    for folder in ("broker/processed", "broker/control"):
        (tmp_path / folder).mkdir(parents=True)
    subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=120)
    log = (tmp_path / "worker.log").open("w")
    # The two stages as scripts/run-dev.sh starts them: I/O under gevent, CPU prefork.
    celery = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    workers = [
        subprocess.Popen(
            celery + ["-n", "io@%h", "-Q", "atelier", "-P", "gevent", "-c", "8"],
            cwd=ROOT, env={**env, "DATABASE_CONN_MAX_AGE": "0"}, stdout=log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            celery + ["-n", "cpu@%h", "-Q", "atelier.cpu", "--concurrency", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    time.sleep(3)
    yield env
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)
    log.close()


def test_many_quick_submits_on_the_embedded_default_all_finish(embedded_default, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SUBMIT_AND_WAIT, str(SUBMITS)],
        cwd=ROOT,
        env=embedded_default,
        capture_output=True,
        text=True,
        timeout=240,
    )
    worker_log = (tmp_path / "worker.log").read_text()
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"codes [(201, {SUBMITS})]" in result.stdout, result.stdout + result.stderr[-3000:]
    finished = f"statuses [('succeeded', {SUBMITS})]"
    assert finished in result.stdout, result.stdout + worker_log[-3000:]
