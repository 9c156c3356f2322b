"""Celery adapters for jobs: load by id, call a service, follow its retry advice.

Policy: acks_late with reject-on-worker-lost (settings) so a crashed worker's
message is redelivered; the job's claim makes a redelivery harmless. Retries
come only from ``jobs.services`` deciding an error is transient.
"""

from celery import shared_task
from django.db import OperationalError

from jobs import services
from jobs.dblocks import is_lock_error
from jobs.models import GenerationJob


@shared_task(
    name="jobs.run_generation_job",
    bind=True,
    acks_late=True,
    max_retries=None,  # the job row counts attempts; services stop at the limit
    ignore_result=True,
)
def run_generation_job(self, job_id: str) -> None:
    try:
        outcome = services.job_run(job_id=job_id)
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


@shared_task(name="jobs.reap_stale_jobs", acks_late=True, ignore_result=True, expires=120)
def reap_stale_jobs() -> None:
    services.jobs_reap()
