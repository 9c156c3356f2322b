"""Guarded transitions of a claimed job: every write is conditional on the claim."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from gallery.models import Image
from jobs import observability
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers.errors import message_for
from jobs.services.money import job_cost_usd

Status = GenerationJob.Status


# Provider URLs die 60 minutes after the image was made; stop trying a little before.
PROVIDER_URL_LIFETIME = dt.timedelta(minutes=55)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 120.0
# Never wait longer than this, whatever Retry-After says: a longer wait is the reaper's job.
MAX_RETRY_DELAY_SECONDS = 900.0
# A cancel is sent from the web request that asks for it; a slow proxy must not hold it.
MIDJOURNEY_CANCEL_TIMEOUT_SECONDS = 10.0


CANCELLED_KEPT_MESSAGE = gettext_noop("Cancelled, but the provider had already made it: kept.")


class StorageUnavailable(Exception):
    pass


@dataclass(frozen=True)
class RunOutcome:
    """What the task should do next: nothing, try again after ``retry_in`` seconds, or (the
    I/O stage's hand-off) store the kept answer (``store``)."""

    retry_in: float | None = None
    store: bool = False


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the provider asked."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return round(min(delay, MAX_RETRY_DELAY_SECONDS), 2)


def _claim(job_id) -> uuid.UUID | None:
    now = timezone.now()
    token = uuid.uuid4()
    lease = dt.timedelta(seconds=settings.ATELIER_JOB_LEASE_SECONDS)
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now)
    updated = GenerationJob.objects.filter(claimable, id=job_id).update(
        status=Status.RUNNING,
        claim_token=token,
        attempts=F("attempts") + 1,
        lease_expires_at=now + lease,
        started_at=now,
        updated_at=now,
    )
    return token if updated == 1 else None


def _claim_store(job_id) -> uuid.UUID | None:
    """The CPU stage's claim: a job the I/O stage handed off (running or cancelled, no claim
    token), or a running one whose holder died (lease expired), with its answer kept."""
    now = timezone.now()
    token = uuid.uuid4()
    lease = dt.timedelta(seconds=settings.ATELIER_JOB_LEASE_SECONDS)
    claimable = Q(status__in=[Status.RUNNING, Status.CANCELLED], claim_token__isnull=True) | Q(
        status=Status.RUNNING, lease_expires_at__lt=now
    )
    updated = GenerationJob.objects.filter(claimable, id=job_id, answer__isnull=False).update(
        claim_token=token,
        attempts=F("attempts") + 1,
        lease_expires_at=now + lease,
        updated_at=now,
    )
    return token if updated == 1 else None


def _handed_off(job: GenerationJob, token: uuid.UUID) -> bool:
    """Give up the I/O stage's claim once the answer is kept whole: the CPU stage claims the
    job next. The hand-off is not an attempt (the CPU stage's claim counts it); its lease
    lets the reaper re-enqueue the job should the CPU stage's message be lost."""
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.ATELIER_JOB_LEASE_SECONDS)
    moved = _held(job, token).update(
        claim_token=None,
        attempts=F("attempts") - 1,
        lease_expires_at=now + lease,
        updated_at=now,
    )
    return moved == 1


def release_db() -> None:
    """Close this thread's (or greenlet's) database connection before a wait on the network,
    so a thousand waits hold no connection; the next query opens (or borrows) one again.
    Inside a transaction (tests, an atomic caller) it is left alone."""
    from django.db import connection

    if not connection.in_atomic_block:
        connection.close()


def _guarded(job: GenerationJob, token: uuid.UUID):
    return GenerationJob.objects.filter(id=job.id, claim_token=token, status=Status.RUNNING)


def _cancelled_under(job: GenerationJob, token: uuid.UUID):
    """The job, if the user cancelled it while this attempt held it: the attempt still
    records what the provider did (and billed), never the status."""
    return GenerationJob.objects.filter(id=job.id, claim_token=token, status=Status.CANCELLED)


def _held(job: GenerationJob, token: uuid.UUID):
    return GenerationJob.objects.filter(
        id=job.id, claim_token=token, status__in=[Status.RUNNING, Status.CANCELLED]
    )


def _settlement(job: GenerationJob, status: str) -> dict:
    """The money and images of a job that ends without succeeding: what a kept answer
    billed, or nothing; an unknown outcome keeps its reservation (it may have been billed)."""
    stored = Image.objects.filter(job_id=job.id).count()
    if status == Status.UNKNOWN:
        return {"images_stored": stored or None}
    answer = ProviderAnswer.objects.filter(job_id=job.id).only("items").first()
    paid = job_cost_usd(job, images=len(answer.items)) if answer is not None else None
    return {"cost_usd": paid, "images_stored": stored}


def _finish(job, token, status, *, code: str = "", message: str = "") -> None:
    now = timezone.now()
    settled = _settlement(job, status)
    finished = _guarded(job, token).update(
        status=status,
        error_code=code,
        error_message=message or (message_for(code) if code else ""),
        progress="",
        finished_at=now,
        lease_expires_at=None,
        updated_at=now,
        **settled,
    )
    if finished == 1:
        observability.job_transition(job, status=status, code=code, previous=Status.RUNNING)
    if finished != 1:
        _cancelled_under(job, token).update(**settled)


def _release_for_retry(job, token, *, code: str, clear_request: bool, delay: float) -> RunOutcome:
    now = timezone.now()
    fields = dict(
        status=Status.QUEUED,
        error_code=code,
        error_message=message_for(code),
        progress=f"Waiting {delay:.0f}s before retrying",
        lease_expires_at=None,
        updated_at=now,
    )
    if clear_request:
        fields["provider_request_sent_at"] = None
    if _guarded(job, token).update(**fields) != 1:
        # Cancelled meanwhile: no retry, so settle what this attempt paid (nothing, unless
        # an answer was kept).
        _cancelled_under(job, token).update(**_settlement(job, Status.FAILED))
        return RunOutcome()
    observability.job_transition(job, status=Status.QUEUED, code=code, previous=Status.RUNNING)
    return RunOutcome(retry_in=delay)


def _send_refused(job, token) -> RunOutcome | None:
    """The outcome when this attempt must not send the provider request; None when it may."""
    if job.provider_request_sent_at is not None:
        # An earlier attempt sent the request and died before keeping the answer.
        _finish(job, token, Status.UNKNOWN, code="worker_lost_unknown_outcome")
        return RunOutcome()
    if job.attempts > settings.ATELIER_JOB_MAX_ATTEMPTS:
        _finish(job, token, Status.FAILED, code="too_many_attempts")
        return RunOutcome()
    return None
