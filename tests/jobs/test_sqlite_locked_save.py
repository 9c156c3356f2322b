"""A worker save that meets SQLite's lock says so on the job's card at once and runs again.

On a real SQLite file: another connection takes the write lock as soon as the job is
running and holds it past the busy timeout, as a burst of web writes can.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from jobs.services import DATABASE_BUSY_PROGRESS, DATABASE_BUSY_RETRY_SECONDS
from tests.support import embedded_default_env

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sqlite3, threading, time
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from jobs import services
    from jobs.models import GenerationJob

    path = settings.DATABASES["default"]["NAME"]
    user = get_user_model().objects.create(username="solo")
    job = GenerationJob.objects.create(
        owner=user, provider="demo", connection="demo", model="demo", prompt="a busy harbour"
    )
    held = threading.Event()

    def hold_the_lock_once_running():
        other = sqlite3.connect(path, isolation_level=None, timeout=30)
        while other.execute(
            "select status from jobs_generationjob where id = ?", [job.id.hex]
        ).fetchone()[0] != "running":
            time.sleep(0.002)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(3)
        other.execute("COMMIT")

    holder = threading.Thread(target=hold_the_lock_once_running)
    holder.start()
    started = time.monotonic()
    outcome = services.job_run(job_id=job.id)
    took = time.monotonic() - started
    holder.join()
    job.refresh_from_db()
    first = dict(held=held.is_set(), status=job.status, retry_in=outcome.retry_in,
                 progress=job.progress, took=took)
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    print(json.dumps(dict(first=first, again=[job.status, job.images.count()])))
    """
)


def test_a_locked_save_requeues_the_job_and_says_so_within_seconds(tmp_path):
    env = embedded_default_env(tmp_path, ATELIER_SQLITE_BUSY_TIMEOUT="1")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    first = report["first"]
    assert first["held"] and first["status"] == "queued", first
    assert first["progress"] == DATABASE_BUSY_PROGRESS, first
    assert first["retry_in"] == DATABASE_BUSY_RETRY_SECONDS
    assert first["took"] < 15, f"the card said nothing for {first['took']:.0f} s"
    # It finishes: succeeded, or unknown when the lock struck after the request was sent
    # and before the answer was kept (a sent request is never sent twice).
    assert report["again"] in (["succeeded", 1], ["unknown", 0]), report
