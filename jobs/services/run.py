"""The I/O stage of an attempt: claim, call the provider (or poll), keep the answer in
storage, hand the job to the CPU stage (``store``); and ``job_run``, both stages in turn."""

from __future__ import annotations

import hashlib
import logging
from contextvars import ContextVar
from functools import partial
from typing import cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from gallery.imaging import InvalidImage
from jobs import observability
from jobs.connections import connection_named
from jobs.dblocks import is_lock_error, retry_on_lock
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers import ProviderError, provider_for
from jobs.providers.base import EditingImageProvider, JobInputs
from jobs.providers.chat_completions import ChatCompletionsProvider
from jobs.providers.fetch import reply_capped
from jobs.registry import Family, Kind, ModelSpec, get_model
from jobs.services.answers import answer_fetch, answer_keep
from jobs.services.inputs import _inputs_or_outcome
from jobs.services.midjourney import _midjourney_cancel_at_provider, _midjourney_step
from jobs.services.outcomes import kept_answer_error_outcome, provider_error_outcome
from jobs.services.progress import ProgressNotes
from jobs.services.state import (
    PROVIDER_URL_LIFETIME,
    RunOutcome,
    StorageUnavailable,
    _claim,
    _finish,
    _guarded,
    _handed_off,
    _release_for_retry,
    _send_refused,
    backoff_seconds,
    release_db,
)
from jobs.services.store import job_partial_store, job_store, partial_key

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


def user_reference(user_id: int) -> str:
    """A stable, non-identifying id sent to providers for abuse monitoring."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:user:{user_id}".encode()).hexdigest()[:32]


def job_run(*, job_id) -> RunOutcome:
    """Run one attempt of a job, both stages in this process (tests, eager mode, a shell):
    the I/O stage, then the CPU stage when it handed the job off. Workers run the stages
    as separate tasks on separate queues (``jobs.tasks``). Raises
    GenerationJob.DoesNotExist for a missing row."""
    outcome = job_run_io(job_id=job_id, hand_off=False)
    if outcome.store:
        return job_store(job_id=job_id)
    return outcome


def job_run_io(*, job_id, hand_off: bool = True) -> RunOutcome:
    """The I/O stage of one attempt: claim, send the request (or poll), wait, keep the
    answer in storage, download what it links to, hand the job to the CPU stage.

    With ``hand_off`` the CPU stage's task is enqueued once the hand-off commits; without
    it the caller runs the CPU stage itself (``RunOutcome.store``). No database
    connection is held while the provider or a download is awaited.
    """
    token = retry_on_lock(lambda: _claim(job_id))
    # With a kept answer, if there is one (a retry after storage failed): one query.
    job = GenerationJob.objects.select_related("answer").get(id=job_id)
    if token is None:
        if job.status == Status.CANCELLED and job.provider_task_id:
            _midjourney_cancel_at_provider(job)
        return RunOutcome()  # finished, cancelled, or held by a live worker
    observability.job_transition(job, status=Status.RUNNING, previous=Status.QUEUED)
    handing_off = _HAND_OFF.set(hand_off)
    try:
        return _attempt(job, token, _job_run_claimed)
    finally:
        _HAND_OFF.reset(handing_off)


def _attempt(job, token, body) -> RunOutcome:
    """Run one stage's ``body`` under its claim; what no stage expected ends the job."""
    try:
        return body(job, token)
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


# Whether this I/O stage enqueues the CPU stage's tasks (a worker) or leaves them to the
# caller (``job_run``); per greenlet, since a gevent worker runs hundreds of jobs at once.
_HAND_OFF: ContextVar[bool] = ContextVar("atelier_hand_off", default=True)


INTERNAL_ERROR_MESSAGE = gettext_noop(
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
    answer = _kept_answer(job)
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
        answer_fetch(job, answer)
    except (ProviderError, StorageUnavailable, InvalidImage) as exc:
        return kept_answer_error_outcome(job, token, answer, exc)
    return _hand_off(job, token)


def _kept_answer(job) -> ProviderAnswer | None:
    try:
        return job.answer  # select_related: no query, even when there is none
    except ProviderAnswer.DoesNotExist:
        return None


def _hand_off(job, token) -> RunOutcome:
    """The answer is kept whole: give the job to the CPU stage, whose task is enqueued
    once the hand-off is committed (so it finds the kept answer): at once in autocommit,
    or when the caller's transaction commits."""
    from jobs.services.create import job_store_enqueue

    enqueue = _HAND_OFF.get()
    moved = _handed_off(job, token)
    if moved and enqueue:
        transaction.on_commit(partial(job_store_enqueue, job_id=job.id))
    return RunOutcome(store=moved and not enqueue)


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
    release_db()  # the wait for the provider holds no database connection
    try:
        with observability.provider_request(job):
            result = _provider_call(job, token, spec=spec, connection=connection, inputs=inputs)
    except ProviderError as exc:
        return provider_error_outcome(job, token, exc)
    if not result.items:
        _finish(job, token, Status.FAILED, code="no_images")
        return RunOutcome()
    result = reply_capped(result, limit=spec.images_per_reply_limit(params=job.params), job=job)
    return answer_keep(job, token, result)


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
    if isinstance(provider, ChatCompletionsProvider):
        # A streamed reply's progress lines, onto the card as they arrive.
        notes = ProgressNotes(job, token)
        return provider.generate(**common, prompt=job.prompt, on_progress=notes)
    return provider.generate(**common, prompt=job.prompt, on_partial=on_partial)


# -- partial images -------------------------------------------------------------------


def _partial_store(job, token, index: int, data: str | bytes, output_format: str) -> None:
    """Keep a streamed preview as received (its base64 text) and tell the card; decoding
    and verifying it is the CPU stage's work (``job_partial_store``). A preview that cannot
    be kept is simply skipped."""
    import botocore.exceptions

    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        default_storage.save(partial_key(job.id, index), ContentFile(raw))
    except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        logger.info("job %s partial image %d not kept: %s", job.id, index, exc)
        return
    # A short-lived connection per preview: the stream goes on waiting without one.
    _guarded(job, token).update(progress=f"Preview {index + 1}", updated_at=timezone.now())
    if _HAND_OFF.get():
        release_db()
        from jobs.tasks import store_partial_image

        store_partial_image.apply_async(args=(str(job.id), index))
    else:
        job_partial_store(job_id=job.id, index=index)
