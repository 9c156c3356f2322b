"""The embedded default (SQLite, filesystem broker, demo model) under concurrent submits.

Real processes: `make run`'s script (web and the two Celery worker stages, I/O under
gevent, CPU prefork) and web requests from many threads at once, all writing one SQLite
file. Every job must finish.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import make_run

ROOT = Path(__file__).resolve().parents[2]
SUBMITS = 24

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
    user = get_user_model().objects.get(username="demo")
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
    """`make run` itself (web and both worker stages), its environment for the submits."""
    with make_run(
        tmp_path, ATELIER_RATE_LIMIT_JOBS_PER_MINUTE="1000", DJANGO_ALLOWED_HOSTS="testserver"
    ) as (_base_url, env):
        yield env


def test_many_quick_submits_on_the_embedded_default_all_finish(embedded_default, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SUBMIT_AND_WAIT, str(SUBMITS)],
        cwd=ROOT,
        env=embedded_default,
        capture_output=True,
        text=True,
        timeout=240,
    )
    worker_log = (tmp_path / "make-run.log").read_text()
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"codes [(201, {SUBMITS})]" in result.stdout, result.stdout + result.stderr[-3000:]
    finished = f"statuses [('succeeded', {SUBMITS})]"
    assert finished in result.stdout, result.stdout + worker_log[-3000:]
