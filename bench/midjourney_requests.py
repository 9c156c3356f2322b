#!/usr/bin/env python
"""Provider requests per Midjourney job: polls only, versus callbacks with safety polls.

The fake midjourney-proxy (tests/fake_provider.py) moves each task on by itself, one step
every ``--step`` seconds (IN_PROGRESS, then SUCCESS), as a real proxy does; in the
callbacks run it POSTs every change to the job's notifyHook, served here by Atelier over
HTTP (a WSGI server in this process). Jobs run whenever they are due, as Celery's
countdowns would run them (tasks run eagerly); SQLite and local files hold the state.
Counted: requests to the proxy's /mj/ API (submits, fetches, list-by-condition, queue)
per job (each job also downloads its one image, either way).

    .venv/bin/python bench/midjourney_requests.py            # 20 jobs per run
    .venv/bin/python bench/midjourney_requests.py --jobs 50 --step 2
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def configure(tmp: Path, web_port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "bench-only-" + "k7x!q2" * 10,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "ATELIER_DATA_DIR": str(tmp),
            "AWS_STORAGE_BUCKET_NAME": "",
            "OPENAI_API_KEY": "",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "ATELIER_LOG_FORMAT": "text",
            "ATELIER_RATE_LIMIT_JOBS_PER_MINUTE": "100000",
            "ATELIER_DEFAULT_DAILY_IMAGES": "100000",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logging.disable(logging.WARNING)


def drive(job_ids, *, timeout: float) -> None:
    """Run each job whenever it is due (what the countdowns and the reaper do)."""
    from django.utils import timezone

    from jobs import services
    from jobs.models import GenerationJob

    deadline = time.time() + timeout
    while time.time() < deadline:
        unfinished = GenerationJob.objects.filter(id__in=job_ids).exclude(
            status__in=GenerationJob.TERMINAL
        )
        if not unfinished.exists():
            return
        now = timezone.now()
        for job in unfinished:
            if job.status == GenerationJob.Status.QUEUED or (job.lease_expires_at or now) <= now:
                services.job_run(job_id=job.id)
        time.sleep(0.05)
    raise RuntimeError("some jobs never ended")


def measure(fake, user, *, label: str, jobs: int, public_url: str, timeout: float) -> dict:
    from django.conf import settings

    from jobs import services
    from jobs.models import GenerationJob

    settings.ATELIER_PUBLIC_URL = public_url
    fake.reset()
    fake.mj_step_seconds = STEP
    started = time.time()
    ids = [
        services.job_create(user=user, model_name="midjourney", prompt=f"{label} {i}", params={}).id
        for i in range(jobs)
    ]
    drive(ids, timeout=timeout)
    seconds = time.time() - started
    done = GenerationJob.objects.filter(id__in=ids, status=GenerationJob.Status.SUCCEEDED)
    api = [c for c in fake.calls if c.path.startswith("/mj/")]
    kinds = {
        "submit": sum("/submit/" in c.path for c in api),
        "fetch": sum(c.path.endswith("/fetch") for c in api),
        "list-by-condition": sum("list-by-condition" in c.path for c in api),
        "queue": sum(c.path == "/mj/task/queue" for c in api),
    }
    return {
        "label": label,
        "jobs": jobs,
        "succeeded": done.count(),
        "api_per_job": len(api) / jobs,
        "polls_per_job": (kinds["fetch"] + kinds["list-by-condition"]) / jobs,
        "callbacks_per_job": len(fake.mj_callbacks_sent) / jobs,
        "kinds": kinds,
        "seconds": seconds,
    }


STEP = 1.5


def main() -> int:
    global STEP
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--step", type=float, default=1.5, help="seconds per task step")
    args = parser.parse_args()
    STEP = args.step
    tmp = Path(tempfile.mkdtemp(prefix="atelier-mj-bench-"))
    web_port = free_port()
    configure(tmp, web_port)

    from django.core.wsgi import get_wsgi_application

    from jobs.connections import api_key_encrypt
    from jobs.models import ProviderConnection
    from tests.factories import UserFactory
    from tests.fake_provider import API_KEY, FakeImageProvider

    fake = FakeImageProvider().start()
    # The fake's downloads are served from loopback.
    ProviderConnection.objects.create(
        name="bench-mj",
        family="midjourney",
        base_url=fake.root_url,
        api_key_encrypted=api_key_encrypt(API_KEY),
        model_names=["midjourney"],
        allowed_networks=["127.0.0.1/32"],
    )
    user = UserFactory(username="bench")
    web = make_server("127.0.0.1", web_port, get_wsgi_application(), _Server, _Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()

    timeout = 60 + 20 * args.step
    rows = [
        measure(fake, user, label="polls only", jobs=args.jobs, public_url="", timeout=timeout),
        measure(
            fake,
            user,
            label="callbacks",
            jobs=args.jobs,
            public_url=f"http://127.0.0.1:{web_port}",
            timeout=timeout,
        ),
    ]
    web.shutdown()
    fake.stop()
    print(
        f"Midjourney provider requests per job ({args.jobs} jobs, a task step every "
        f"{args.step:g} s, done in two steps)\n"
    )
    print(
        "| mode | succeeded | /mj/ requests per job | of which polls | callbacks per job | time |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['label']} | {row['succeeded']}/{row['jobs']} | {row['api_per_job']:.2f} | "
            f"{row['polls_per_job']:.2f} | {row['callbacks_per_job']:.2f} | "
            f"{row['seconds']:.1f} s |"
        )
    print()
    for row in rows:
        print(f"{row['label']}: {row['kinds']}")
    return 0 if all(r["succeeded"] == r["jobs"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
