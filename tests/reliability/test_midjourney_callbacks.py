"""Fault drill: the Midjourney proxy's callbacks are lost entirely.

Atelier submits every task with its callback URL; the fake proxy moves the tasks on by
itself and means to call back at every change, but none of its callbacks arrive. Every
job must still end by the safety polls, with nothing lost, nothing submitted or stored
twice. The jobs' runs are driven here as Celery's countdowns and the reaper would (a run
whenever a job is due), against the real database, S3 server and fake proxy over HTTP.
"""

from __future__ import annotations

import collections
import time

import pytest
from django.utils import timezone

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob, ProviderAnswer
from tests.support import broker_silenced, bucket_keys

Status = GenerationJob.Status
pytestmark = pytest.mark.django_db(transaction=True)
JOBS = 8


def drive(jobs, *, timeout: float = 90.0) -> None:
    """Run each job whenever it is due, until every one has ended."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = [job.id for job in jobs]
        unfinished = GenerationJob.objects.filter(id__in=ids).exclude(
            status__in=GenerationJob.TERMINAL
        )
        if not unfinished.exists():
            return
        now = timezone.now()
        for job in unfinished:
            if job.status == Status.QUEUED or (job.lease_expires_at or now) <= now:
                services.job_run(job_id=job.id)
        time.sleep(0.05)
    raise AssertionError("some jobs never ended")


def test_callbacks_lost_entirely_every_job_still_ends_by_polls(
    alice, fake_connections, s3, settings, live_server, monkeypatch
):
    broker_silenced(monkeypatch)
    settings.ATELIER_PUBLIC_URL = live_server.url
    settings.ATELIER_MIDJOURNEY_CALLBACK_POLL_SECONDS = 2
    fake = fake_connections
    fake.mj_callbacks = "lost"
    fake.mj_step_seconds = 0.3
    jobs = [
        services.job_create(
            user=alice, model_name="midjourney", prompt=f"a lost letter {i}", params={}
        )
        for i in range(JOBS)
    ]
    started = time.time()
    drive(jobs)

    for job in jobs:
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED, (job.error_code, job.error_message)
        assert job.provider_callback_secret  # callbacks were asked for
    # The proxy meant to call back at each change; none arrived.
    assert fake.mj_callbacks_sent == []
    assert {c["state"] for c in fake.mj_callbacks_lost} == {str(j.id) for j in jobs}
    # Nothing submitted, paid or stored twice, nothing lost.
    submits = collections.Counter(c.body["prompt"] for c in fake.calls if "/submit/" in c.path)
    assert sorted(submits.values()) == [1] * JOBS
    assert ProviderAnswer.objects.filter(job__in=jobs).count() == JOBS
    assert Image.objects.filter(job__in=jobs).count() == JOBS
    originals = [k for k in bucket_keys(s3) if k.startswith("images/")]
    assert len(originals) == len(set(originals))
    assert sorted(j.attempts for j in jobs) == [1] * JOBS  # polls are not attempts
    # The safety polls did the work (in batches), after their longer interval.
    polls = [c for c in fake.calls if "list-by-condition" in c.path or "/fetch" in c.path]
    assert polls and all(c.at - started >= 1.5 for c in polls)
