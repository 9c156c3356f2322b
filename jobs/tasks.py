"""Celery adapters for jobs: load by id, call a service, follow its retry advice.

Two stages on two queues (``CELERY_TASK_ROUTES``): ``run_generation_job`` is the I/O stage
(a gevent worker: the provider call, Midjourney polls, downloads), ``store_generation_job``
and ``store_partial_image`` the CPU stage (a prefork worker: decode, verify, thumbnail,
store). Policy: acks_late with reject-on-worker-lost (settings) so a crashed worker's
message is redelivered; the job's claim makes a redelivery harmless. Retries come only
from ``jobs.services`` deciding an error is transient.
"""

from __future__ import annotations

import contextlib
import types

from celery import shared_task, signals
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from config.celery import under_gevent
from jobs import services
from jobs.dblocks import is_lock_error
from jobs.models import GenerationJob


def _deadline(seconds: float):
    """Celery's soft time limit never fires under the gevent pool: there, the task raises
    SoftTimeLimitExceeded itself when ``seconds`` have passed (at its next wait), so a job
    cut off mid-call ends the way it does under prefork. Elsewhere Celery's own applies."""
    if under_gevent():
        import gevent

        return gevent.Timeout(seconds, SoftTimeLimitExceeded())
    return contextlib.nullcontext()


@signals.worker_init.connect
def _storage_connection_shared(**kwargs) -> None:
    """django-storages keeps one S3 connection per thread, which under gevent means one per
    greenlet: a boto3 session and resource built for every job (~200 ms of CPU each, the I/O
    stage's largest cost in a burst). The greenlets of an I/O worker share one instead; they
    switch only while waiting on a socket, never while boto3 builds a request."""
    if not under_gevent():
        return
    from django.core.files.storage import storages

    storage = storages["default"]  # the instance default_storage wraps
    if hasattr(storage, "_connections"):
        storage._connections = types.SimpleNamespace()


@shared_task(
    name="jobs.run_generation_job",
    bind=True,
    acks_late=True,
    max_retries=None,  # the job row counts attempts; services stop at the limit
    ignore_result=True,
)
def run_generation_job(self, job_id: str) -> None:
    """The I/O stage. Idempotent (the claim); retried only as the service advises, by a new
    message with a countdown; a kept answer is never asked for again."""
    try:
        # A message's own soft limit (apply_async(soft_time_limit=…)) before the setting's.
        limits = self.request.timelimit or (None, None)
        with _deadline(limits[1] or settings.CELERY_TASK_SOFT_TIME_LIMIT):
            outcome = services.job_run_io(job_id=job_id)
    except GenerationJob.DoesNotExist:
        return  # deleted; never retried
    except OperationalError as error:
        if not is_lock_error(error):
            raise
        # SQLite stayed locked before the job could be claimed: it is still queued, try soon.
        services.job_enqueue(job_id=job_id, countdown=services.DATABASE_BUSY_RETRY_SECONDS)
        return
    if outcome.retry_in is not None:
        services.job_enqueue(job_id=job_id, countdown=outcome.retry_in)


@shared_task(
    name="jobs.store_generation_job",
    bind=True,
    acks_late=True,
    max_retries=None,
    ignore_result=True,
)
def store_generation_job(self, job_id: str) -> None:
    """The CPU stage. Idempotent (its claim; images already stored are skipped); a storage
    retry goes back through the I/O stage's queue with the service's countdown, which hands
    the job straight back here."""
    try:
        outcome = services.job_store(job_id=job_id)
    except GenerationJob.DoesNotExist:
        return
    except OperationalError as error:
        if not is_lock_error(error):
            raise
        services.job_enqueue(job_id=job_id, countdown=services.DATABASE_BUSY_RETRY_SECONDS)
        return
    if outcome.retry_in is not None:
        services.job_enqueue(job_id=job_id, countdown=outcome.retry_in)


@shared_task(name="jobs.store_partial_image", acks_late=True, ignore_result=True, expires=300)
def store_partial_image(job_id: str, index: int) -> None:
    """A streamed preview, published by the CPU stage. Never retried: a preview is
    disposable, and the final image replaces it."""
    services.job_partial_store(job_id=job_id, index=index)


@shared_task(name="jobs.reap_stale_jobs", acks_late=True, ignore_result=True, expires=120)
def reap_stale_jobs() -> None:
    services.jobs_reap()
