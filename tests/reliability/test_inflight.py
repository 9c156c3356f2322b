"""A call waiting at the provider holds no PostgreSQL connection (issue 11), quick form.

The worker commands the suite starts (tests/conftest.py) run 40 jobs against the fake
provider, each answer arriving 2.5–3.5 s after its request. While calls wait, a sampler
counts the calls the fake holds and the connections to the test database the workers hold
(pg_stat_activity, this process's own connection left out): the calls in flight must
outnumber the connections, so a pool that keeps a connection per wait fails here, however
large it is. Connections are reused across jobs, not opened for each (every one a forked
PostgreSQL backend). And nothing is lost or paid twice: every job succeeds, with one
provider call and the images it asked for.
"""

from __future__ import annotations

import threading
import time

import psycopg
from django.db import connection

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from tests.factories import UserFactory
from tests.support import bucket_keys

JOBS = 40
LATENCY = (2.5, 3.5)
MODEL = "gpt-image-2"


def sessions_opened(database: str) -> int:
    """Connections ever opened to ``database`` (PostgreSQL's own count)."""
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        row = c.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [database]
        ).fetchone()
    return int(row[0])


def worker_connections(cursor, database: str, exclude: list[int]) -> int:
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND backend_type = 'client backend' AND NOT (pid = ANY(%s))",
        [database, exclude],
    )
    return cursor.fetchone()[0]


class Sampler(threading.Thread):
    """(calls in flight, worker connections) pairs, kept only when nothing at the provider
    changed while the connections were counted, so both figures are of the same moment."""

    def __init__(self, provider, database: str, exclude: list[int]):
        super().__init__(daemon=True)
        self.provider, self.database, self.exclude = provider, database, exclude
        self.samples: list[tuple[int, int]] = []
        self.stop = threading.Event()
        self.admin = psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        )

    def run(self) -> None:
        with self.admin, self.admin.cursor() as cursor:
            while not self.stop.is_set():
                before = (self.provider.in_flight, self.provider.answers)
                held = worker_connections(cursor, self.database, self.exclude)
                if before == (self.provider.in_flight, self.provider.answers) and before[0]:
                    self.samples.append((before[0], held))
                self.stop.wait(0.05)


def test_calls_waiting_at_the_provider_outnumber_the_workers_database_connections(
    worker, fake_provider, s3
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]
    users = [UserFactory() for _ in range(4)]  # under the 30 jobs a minute each may queue
    fake_provider.latency = LATENCY
    database = connection.settings_dict["NAME"]
    opened_before = sessions_opened(database)
    sampler = Sampler(fake_provider, database, [own_pid])
    sampler.start()
    try:
        jobs = [
            services.job_create(
                user=users[i % len(users)],
                model_name=MODEL,
                prompt=f"a lighthouse in flight [inflight-{i}]",
                params={"size": "1024x1024", "n": 1},
            )
            for i in range(JOBS)
        ]
        ids = [job.id for job in jobs]
        deadline = time.time() + 240
        unfinished = GenerationJob.objects.filter(id__in=ids).exclude(
            status__in=GenerationJob.TERMINAL
        )
        while unfinished.exists():
            assert time.time() < deadline, list(unfinished.values_list("status", "error_code"))
            time.sleep(0.25)
    finally:
        sampler.stop.set()
        sampler.join()
        fake_provider.latency = None
    time.sleep(1.0)  # the statistics PostgreSQL keeps are flushed about once a second
    opened = sessions_opened(database) - opened_before

    # Nothing lost, nothing paid twice.
    statuses = sorted(GenerationJob.objects.filter(id__in=ids).values_list("status", "error_code"))
    assert statuses == [("succeeded", "")] * JOBS
    for i in range(JOBS):
        calls = [
            c
            for c in fake_provider.calls_for(f"[inflight-{i}]")
            if c.path == "/v1/images/generations"
        ]
        assert len(calls) == 1, f"job {i} reached the provider {len(calls)} times"
    images = Image.objects.filter(job_id__in=ids)
    assert images.count() == JOBS
    stored = {key for image in images for key in (image.original_key, image.thumbnail_key)}
    assert stored <= set(bucket_keys(s3))

    # While calls waited, fewer connections than calls.
    assert sampler.samples, "no sample was taken while calls waited at the provider"
    peak = max(in_flight for in_flight, _ in sampler.samples)
    at_peak = [held for in_flight, held in sampler.samples if in_flight == peak]
    assert max(at_peak) < peak, (
        f"{peak} calls waited at the provider while the workers held {max(at_peak)} "
        "PostgreSQL connections: a connection is held across each provider wait"
    )

    # Reused across jobs: Celery's fixup used to close them around every task, so the CPU
    # stage alone opened one for each job it stored.
    assert opened < JOBS // 4, f"the workers opened {opened} connections for {JOBS} jobs"
