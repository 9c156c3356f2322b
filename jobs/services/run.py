"""One attempt of a job: claim, call the provider, keep the answer, store, settle."""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.utils import timezone

from gallery.imaging import InvalidImage, image_accept
from gallery.models import Image
from jobs import observability
from jobs.connections import connection_named
from jobs.dblocks import is_lock_error, retry_on_lock
from jobs.models import CANCELLED_KEPT, GenerationJob, ProviderAnswer
from jobs.providers import ProviderError, provider_for
from jobs.providers.base import EditingImageProvider, JobInputs
from jobs.providers.errors import message_for
from jobs.providers.fetch import reply_capped
from jobs.registry import Family, Kind, ModelSpec, get_model
from jobs.services.inputs import _inputs_or_outcome
from jobs.services.midjourney import _midjourney_cancel_at_provider, _midjourney_step
from jobs.services.money import job_cost_usd
from jobs.services.outcomes import provider_error_outcome
from jobs.services.state import (
    CANCELLED_KEPT_MESSAGE,
    PROVIDER_URL_LIFETIME,
    RunOutcome,
    StorageUnavailable,
    _cancelled_under,
    _claim,
    _finish,
    _guarded,
    _held,
    _release_for_retry,
    _send_refused,
    backoff_seconds,
)
from jobs.services.store import _store_images, _trim_answer

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


def user_reference(user_id: int) -> str:
    """A stable, non-identifying id sent to providers for abuse monitoring."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:user:{user_id}".encode()).hexdigest()[:32]


def job_run(*, job_id) -> RunOutcome:
    """Run one attempt of a job. Raises GenerationJob.DoesNotExist for a missing row."""
    token = retry_on_lock(lambda: _claim(job_id))
    job = GenerationJob.objects.get(id=job_id)
    if token is None:
        if job.status == Status.CANCELLED and job.provider_task_id:
            _midjourney_cancel_at_provider(job)
        return RunOutcome()  # finished, cancelled, or held by a live worker
    observability.job_transition(job, status=Status.RUNNING, previous=Status.QUEUED)
    try:
        return _job_run_claimed(job, token)
    except OperationalError as error:
        if not is_lock_error(error):
            raise  # the database itself is unreachable: nothing can be recorded now
        return _release_after_lock(job, token)
    except SoftTimeLimitExceeded:
        return _out_of_time(job, token)
    except Exception:
        # No code path expected this (a bug, a library error on hostile input): end the job
        # now instead of leaving it running until its lease runs out, and never resend.
        logger.exception("job %s failed with an unexpected error", job.id)
        _finish(job, token, Status.FAILED, code="internal_error", message=INTERNAL_ERROR_MESSAGE)
        return RunOutcome()


INTERNAL_ERROR_MESSAGE = (
    "Atelier hit an unexpected error while running this job (not the provider's). "
    "It is logged for an administrator under this job's id."
)


def _out_of_time(job, token) -> RunOutcome:
    """Celery's soft time limit cut this attempt short: a known outcome, not a bug. What
    the provider may have billed stays counted, and a kept answer is never bought again."""
    logger.warning("job %s hit the task's soft time limit", job.id)
    answer = ProviderAnswer.objects.filter(job_id=job.id).only("received_at").first()
    if answer is not None:
        # Paid for and kept: the next attempt downloads what this one did not finish.
        if (
            job.attempts < settings.ATELIER_STORAGE_MAX_ATTEMPTS
            and answer.received_at + PROVIDER_URL_LIFETIME > timezone.now()
        ):
            delay = backoff_seconds(job.attempts)
            return _release_for_retry(
                job, token, code="image_download_timeout", clear_request=False, delay=delay
            )
        _finish(job, token, Status.FAILED, code="image_download_timeout")
    elif GenerationJob.objects.filter(id=job.id, provider_request_sent_at__isnull=False).exists():
        _finish(job, token, Status.UNKNOWN, code="timeout_unknown_outcome")
    else:
        _finish(job, token, Status.FAILED, code="deadline_exceeded")
    return RunOutcome()


# Said on the card at once, instead of a spinner until the reaper notices the job.
DATABASE_BUSY_PROGRESS = "The database was busy and this job could not be saved; trying again…"
DATABASE_BUSY_RETRY_SECONDS = 2.0


def _release_after_lock(job, token) -> RunOutcome:
    """A save failed on SQLite's lock: back to the queue, saying so, and run again soon.

    Whatever was already saved stands (a sent request or a kept answer is not sent again).
    """
    logger.warning("job %s: database locked, re-queued", job.id)
    now = timezone.now()
    released = retry_on_lock(
        lambda: _guarded(job, token).update(
            status=Status.QUEUED,
            progress=DATABASE_BUSY_PROGRESS,
            lease_expires_at=None,
            updated_at=now,
        ),
        delays=(0.5, 1.0, 2.0, 4.0),
    )
    return RunOutcome(retry_in=DATABASE_BUSY_RETRY_SECONDS) if released == 1 else RunOutcome()


def _job_run_claimed(job, token) -> RunOutcome:
    answer = ProviderAnswer.objects.filter(job=job).first()
    if answer is None and job.provider == Family.MIDJOURNEY:
        outcome_or_answer = _midjourney_step(job, token)
        if isinstance(outcome_or_answer, RunOutcome):
            return outcome_or_answer
        answer = outcome_or_answer
    if answer is None:
        refused = _send_refused(job, token)
        if refused is not None:
            return refused
        outcome_or_answer = _call_provider(job, token)
        if isinstance(outcome_or_answer, RunOutcome):
            return outcome_or_answer
        answer = outcome_or_answer

    try:
        _store_images(job, token, answer)
    except ProviderError as exc:
        if (
            exc.retryable
            and job.attempts < settings.ATELIER_STORAGE_MAX_ATTEMPTS
            and (answer.received_at + PROVIDER_URL_LIFETIME > timezone.now())
        ):
            delay = backoff_seconds(job.attempts)
            return _release_for_retry(job, token, code=exc.code, clear_request=False, delay=delay)
        _finish(job, token, Status.FAILED, code=exc.code)
        return RunOutcome()
    except StorageUnavailable:
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
            message="Image storage stayed unavailable; the provider's answer is kept and an "
            "administrator can resume this job.",
        )
        return RunOutcome()
    except InvalidImage as exc:
        _finish(
            job,
            token,
            Status.FAILED,
            code="invalid_image",
            message=f"{message_for('invalid_image')} {exc}",
        )
        return RunOutcome()

    now = timezone.now()
    settled = dict(
        # The provider bills every image it made; quotas count the images stored.
        cost_usd=job_cost_usd(job, images=len(answer.items)),
        images_stored=Image.objects.filter(job_id=job.id).count(),
        # The final images replace the streamed preview.
        partial_image_key="",
        progress="",
        lease_expires_at=None,
        updated_at=now,
    )
    succeeded = _guarded(job, token).update(
        status=Status.SUCCEEDED, error_code="", error_message="", finished_at=now, **settled
    )
    if succeeded == 1:
        observability.job_transition(job, status=Status.SUCCEEDED, previous=Status.RUNNING)
    kept = succeeded != 1 and _cancelled_under(job, token).update(
        # Cancelled while the provider was making it: the images are paid for, so kept.
        error_code=CANCELLED_KEPT,
        error_message=CANCELLED_KEPT_MESSAGE,
        **settled,
    )
    if kept:
        # The log agrees with the card: the cancelled job's images and cost were kept.
        observability.job_transition(
            job, status=Status.CANCELLED, code=CANCELLED_KEPT, previous=Status.CANCELLED
        )
    _trim_answer(answer)
    _partials_delete(job)
    return RunOutcome()


def _call_provider(job, token) -> ProviderAnswer | RunOutcome:
    spec = get_model(job.model)
    connection = connection_named(job.connection)
    if connection is None or spec.name not in connection.models:
        _finish(job, token, Status.FAILED, code="no_connection")
        return RunOutcome()
    if connection.key_problem:
        # A key we cannot read, or one meant for another host, is never replaced by "".
        _finish(job, token, Status.FAILED, code=connection.key_problem)
        return RunOutcome()
    # Inputs are read before the request is marked sent: a storage hiccup here costs nothing.
    inputs = _inputs_or_outcome(job, token)
    if isinstance(inputs, RunOutcome):
        return inputs
    if _guarded(job, token).update(provider_request_sent_at=timezone.now()) != 1:
        return RunOutcome()
    try:
        with observability.provider_request(job):
            result = _provider_call(job, token, spec=spec, connection=connection, inputs=inputs)
    except ProviderError as exc:
        return provider_error_outcome(job, token, exc)
    if not result.items:
        _finish(job, token, Status.FAILED, code="no_images")
        return RunOutcome()
    result = reply_capped(result, limit=spec.images_per_reply_limit(params=job.params), job=job)
    with transaction.atomic():
        answer = ProviderAnswer.objects.create(
            job=job, items=result.items, usage=result.usage, text=result.text
        )
        _held(job, token).update(usage=result.usage, response_text=result.text)
    return answer


def _provider_call(job, token, *, spec: ModelSpec, connection, inputs: JobInputs | None):
    provider = provider_for(Family(job.provider))
    common = dict(
        connection=connection,
        spec=spec,
        params=job.params,
        user_ref=user_reference(job.owner_id),
    )
    on_partial = partial(_partial_store, job, token)
    if job.kind in (Kind.EDIT, Kind.VARIATION):
        # Edit and variation jobs always carry their input images, and the registry offers
        # them only on models whose family's provider takes them (OpenAI Images).
        editor = cast(EditingImageProvider, provider)
        edit_inputs = cast(JobInputs, inputs)
        if job.kind == Kind.EDIT:
            return editor.edit(
                **common, prompt=job.prompt, inputs=edit_inputs, on_partial=on_partial
            )
        return editor.create_variation(**common, inputs=edit_inputs)
    return provider.generate(**common, prompt=job.prompt, on_partial=on_partial)


# -- partial images -------------------------------------------------------------------


def _partial_store(job, token, index: int, data: bytes, output_format: str) -> None:
    """Keep the latest streamed preview; a preview that cannot be kept is simply skipped."""
    import botocore.exceptions

    try:
        data, info = image_accept(data)
    except InvalidImage as exc:
        logger.info("job %s partial image %d unusable: %s", job.id, index, exc)
        return
    key = f"partials/{job.id}/{index}.{info.extension}"
    try:
        default_storage.save(key, ContentFile(data))
    except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        logger.info("job %s partial image %d not stored: %s", job.id, index, exc)
        return
    _guarded(job, token).update(
        partial_image_key=key,
        progress=f"Preview {index + 1}",
        updated_at=timezone.now(),
    )


def _partials_delete(job) -> None:
    try:
        _dirs, files = default_storage.listdir(f"partials/{job.id}")
        for name in files:
            default_storage.delete(f"partials/{job.id}/{name}")
    except Exception as exc:  # previews are disposable; a leftover costs nothing
        logger.info("job %s partial images not deleted: %s", job.id, exc)
