"""What a provider error means for the job, decided once for every family: on a sent
request (``provider_error_outcome``), on a poll of a task already sent
(``poll_error_decision``) and on a kept answer's download or storage
(``kept_answer_error_outcome``).

A request that may have reached the provider is never sent again unless the provider
said it was not done (a retryable error); a refusal of the prompt is a moderation event,
whichever family refused it.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings

from jobs.models import GenerationJob
from jobs.providers import ProviderError
from jobs.services.state import RunOutcome, _finish, _release_for_retry, backoff_seconds
from moderation.services import PROVIDER_REFUSAL_CODES, moderation_event_record

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


def provider_error_outcome(job, token, exc: ProviderError) -> RunOutcome:
    """The outcome of a submit (Images, chat, or a Midjourney task) that raised ``exc``."""
    logger.info("job %s provider error %s (%s)", job.id, exc.code, exc.detail)
    if exc.code == "timeout_unknown_outcome":
        _finish(job, token, Status.UNKNOWN, code=exc.code)
        return RunOutcome()
    if exc.retryable and job.attempts < settings.ATELIER_JOB_MAX_ATTEMPTS:
        delay = backoff_seconds(job.attempts, retry_after=exc.retry_after)
        return _release_for_retry(job, token, code=exc.code, clear_request=True, delay=delay)
    _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
    if exc.code in PROVIDER_REFUSAL_CODES:
        moderation_event_record(job=job, code=exc.code, detail=exc.detail)
    if exc.code == "invalid_model":
        # The connection claims a model its provider lacks: staff review the pairing.
        from catalogue.services import pairing_flag_invalid_model

        pairing_flag_invalid_model(job=job, detail=str(exc.detail or ""))
    return RunOutcome()


class PollDecision(enum.Enum):
    WAIT = "wait"  # ask again at the next poll
    GIVE_UP = "give_up"  # past the deadline and still unreachable: cancel and fail
    UNKNOWN = "unknown"  # the provider lost the task: it may have been made, never re-sent
    FAILED = "failed"


def poll_error_decision(exc: ProviderError, *, past_deadline: bool) -> PollDecision:
    """A poll that failed never re-sends the task (it was accepted once, and may be paid):
    it waits while the deadline allows, or ends the job."""
    if (exc.retryable or exc.code == "timeout_unknown_outcome") and not past_deadline:
        return PollDecision.WAIT
    if exc.retryable:
        return PollDecision.GIVE_UP
    return PollDecision.UNKNOWN if exc.code == "mj_task_lost" else PollDecision.FAILED


def kept_answer_error_outcome(job, token, answer, exc: Exception) -> RunOutcome:
    """The outcome when a kept answer's images could not be downloaded (I/O stage) or
    stored (CPU stage). The provider is never asked again: what is retried is the download
    (while the link lives) or the storage write; what cannot be fixed fails, answer kept."""
    from django.utils import timezone
    from django.utils.translation import gettext_noop

    from gallery.imaging import InvalidImage
    from jobs.providers.errors import message_for
    from jobs.services.state import PROVIDER_URL_LIFETIME, StorageUnavailable

    if isinstance(exc, ProviderError):
        if (
            exc.retryable
            and job.attempts < settings.ATELIER_STORAGE_MAX_ATTEMPTS
            and answer.received_at + PROVIDER_URL_LIFETIME > timezone.now()
        ):
            delay = backoff_seconds(job.attempts)
            return _release_for_retry(job, token, code=exc.code, clear_request=False, delay=delay)
        _finish(job, token, Status.FAILED, code=exc.code)
        return RunOutcome()
    if isinstance(exc, StorageUnavailable):
        if job.attempts < settings.ATELIER_STORAGE_MAX_ATTEMPTS:
            delay = backoff_seconds(job.attempts)
            return _release_for_retry(
                job, token, code="storage_unavailable", clear_request=False, delay=delay
            )
        _finish(
            job,
            token,
            Status.FAILED,
            code="storage_unavailable",
            message=gettext_noop(
                "Image storage stayed unavailable; the provider's answer is kept and an "
                "administrator can resume this job."
            ),
        )
        return RunOutcome()
    if isinstance(exc, InvalidImage):
        from jobs.services.answers import answer_objects_delete

        answer_objects_delete(job, answer)  # bytes that are not images: nothing to resume
        _finish(
            job,
            token,
            Status.FAILED,
            code="invalid_image",
            message=f"{message_for('invalid_image')} {exc}",
        )
        return RunOutcome()
    raise exc
