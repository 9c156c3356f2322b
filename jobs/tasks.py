"""Celery adapters for jobs: load by id, call a service, follow its retry advice.

Policy: acks_late with reject-on-worker-lost (settings) so a crashed worker's
message is redelivered; the job's claim makes a redelivery harmless. Retries
come only from ``jobs.services`` deciding an error is transient.
"""

from celery import shared_task

from jobs import services
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
    if outcome.retry_in is not None:
        services.job_enqueue(job_id=job_id, countdown=outcome.retry_in)


@shared_task(name="jobs.reap_stale_jobs", acks_late=True, ignore_result=True, expires=120)
def reap_stale_jobs() -> None:
    services.jobs_reap()
