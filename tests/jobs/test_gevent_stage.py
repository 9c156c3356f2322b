"""The I/O stage runs under gevent: its database driver must yield while it waits, and its
tasks must keep a deadline of their own, since Celery's soft time limit never fires there."""

import subprocess
import sys
import textwrap
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def run_patched(script: str) -> str:
    """``script`` in a fresh interpreter with gevent's monkey patches applied first, as
    ``celery worker -P gevent`` applies them."""
    completed = subprocess.run(
        [sys.executable, "-c", "from gevent import monkey; monkey.patch_all()\n" + script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def dsn() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/postgres"


def test_psycopg_waits_cooperatively_under_gevent():
    # Four greenlets each sleep half a second in PostgreSQL on their own connection: if
    # psycopg blocked the process, they would take two seconds one after another.
    elapsed = float(
        run_patched(
            textwrap.dedent(
                f"""
                import time, gevent, psycopg
                def one():
                    with psycopg.connect({dsn()!r}) as db:
                        db.execute("SELECT pg_sleep(0.5)")
                started = time.monotonic()
                gevent.joinall([gevent.spawn(one) for _ in range(4)], raise_error=True)
                print(time.monotonic() - started)
                """
            )
        )
    )
    assert 0.5 <= elapsed < 1.0


def test_the_io_task_cuts_itself_off_at_its_soft_limit_under_gevent():
    out = run_patched(
        textwrap.dedent(
            """
            import time
            from celery.exceptions import SoftTimeLimitExceeded
            import django, os
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
            django.setup()
            from jobs.tasks import _deadline
            started = time.monotonic()
            try:
                with _deadline(0.3):
                    time.sleep(5)  # any wait: a socket read, a sleep
            except SoftTimeLimitExceeded:
                print("cut", round(time.monotonic() - started, 1))
            """
        )
    )
    assert out.split() == ["cut", "0.3"]


def test_without_gevent_the_deadline_is_celerys_own():
    from jobs.tasks import _deadline

    with _deadline(0.01):
        import time

        time.sleep(0.05)  # nothing cuts it: prefork's soft limit is Celery's signal
