"""The reaper: re-enqueue lost or dead jobs, fail those past their deadline."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from jobs import observability
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers.errors import message_for
from jobs.services.answers import answer_missing
from jobs.services.create import job_enqueue, job_store_enqueue
from jobs.services.money import money_field

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


# -- the reaper ----------------------------------------------------------------


@dataclass(frozen=True)
class ReapReport:
    requeued: list
    expired: list


def jobs_reap(*, now: dt.datetime | None = None) -> ReapReport:
    """Re-enqueue jobs whose message was lost or whose worker died; fail those past deadline.

    The broker is only a hint: a Redis flush loses queued messages, and a killed
    worker leaves its job ``running`` until the lease runs out. Re-enqueueing is
    safe because claims are conditional and a kept answer is never re-requested.
    """
    now = now or timezone.now()
    deadline = now - dt.timedelta(seconds=settings.ATELIER_JOB_DEADLINE_SECONDS)
    stale = now - dt.timedelta(seconds=settings.ATELIER_QUEUED_STALE_SECONDS)
    unfinished = GenerationJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])

    expired = []
    for job_id in unfinished.filter(created_at__lt=deadline).values_list("id", flat=True):
        updated = GenerationJob.objects.filter(
            Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now),
            id=job_id,
        ).update(
            status=Status.FAILED,
            error_code="deadline_exceeded",
            error_message=message_for("deadline_exceeded"),
            # Never sent, never billed: its reservation is released.
            cost_usd=Case(
                When(provider_request_sent_at__isnull=True, then=Value(None)),
                default=F("cost_usd"),
                output_field=money_field(),
            ),
            finished_at=now,
            lease_expires_at=None,
            updated_at=now,
        )
        if updated:
            expired.append(job_id)
            observability.job_transition(
                GenerationJob.objects.get(id=job_id),
                status=Status.FAILED,
                code="deadline_exceeded",
                previous="unfinished",
            )

    requeued = []
    candidates = unfinished.filter(created_at__gte=deadline).filter(
        Q(status=Status.QUEUED, updated_at__lt=stale)
        | Q(status=Status.RUNNING, lease_expires_at__lt=now)
    )
    for job_id, status, updated_at in candidates.values_list("id", "status", "updated_at"):
        # Touching updated_at first means two reapers never enqueue the same job twice.
        if GenerationJob.objects.filter(id=job_id, updated_at=updated_at).update(updated_at=now):
            if status == Status.RUNNING and _answer_held(job_id):
                # Its answer is kept whole and its CPU stage died or lost its message:
                # storing it is the CPU stage's work, and nothing is asked of the provider.
                job_store_enqueue(job_id=job_id)
            else:
                job_enqueue(job_id=job_id)
            requeued.append(job_id)
    if requeued or expired:
        logger.warning("reaper requeued %d job(s), expired %d", len(requeued), len(expired))
    return ReapReport(requeued=requeued, expired=expired)


def _answer_held(job_id) -> bool:
    answer = ProviderAnswer.objects.filter(job_id=job_id).first()
    return answer is not None and not answer_missing(answer)
