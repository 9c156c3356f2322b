"""Writing side of generation jobs: create, run, cancel, retry.

A job moves queued → running → succeeded | failed | unknown | cancelled. Every
transition is a conditional UPDATE; a count other than one means another
worker (or the user) got there first, and this one steps back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from gallery.imaging import InvalidImage, image_accept, inspect_image
from gallery.models import Image
from gallery.services import image_store
from jobs import observability
from jobs.admission import admission_check, admission_limits_locked
from jobs.connections import Connection, connection_for_model, connection_named
from jobs.dblocks import is_lock_error, retry_on_lock
from jobs.models import CANCELLED_KEPT, GenerationJob, ProviderAnswer
from jobs.providers import ProviderError, provider_for
from jobs.providers.base import EditingImageProvider, InputFile, JobInputs
from jobs.providers.errors import message_for
from jobs.providers.fetch import guarded_fetch, reply_capped
from jobs.providers.midjourney import MidjourneyClient, MidjourneyTask
from jobs.registry import Family, Kind, ModelSpec, UnknownModel, get_model
from moderation.services import PROVIDER_REFUSAL_CODES, moderation_event_record

logger = logging.getLogger(__name__)
Status = GenerationJob.Status

# Provider URLs die 60 minutes after the image was made; stop trying a little before.
PROVIDER_URL_LIFETIME = dt.timedelta(minutes=55)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 120.0
# Never wait longer than this, whatever Retry-After says: a longer wait is the reaper's job.
MAX_RETRY_DELAY_SECONDS = 900.0
# A cancel is sent from the web request that asks for it; a slow proxy must not hold it.
MIDJOURNEY_CANCEL_TIMEOUT_SECONDS = 10.0


CANCELLED_KEPT_MESSAGE = "Cancelled, but the provider had already made it: kept."


class StorageUnavailable(Exception):
    pass


@dataclass(frozen=True)
class RunOutcome:
    """What the task should do next: nothing, or try again after ``retry_in`` seconds."""

    retry_in: float | None = None


def job_create(
    *, user, model_name: str, prompt: str, params: dict, submit_token: uuid.UUID | None = None
) -> GenerationJob:
    """A new job; with ``submit_token`` (the studio form's), a second insert with the same
    token raises IntegrityError, so a doubled submit never makes a second job."""
    try:
        spec = get_model(model_name)
    except UnknownModel:
        raise ValidationError({"model": [f"Unknown model {model_name!r}."]}) from None
    connection = connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {"model": [f"No provider connection serves {spec.label}. Pick another model."]}
        )
    # A connection lists a retired model only when its proxy still serves it.
    cleaned = spec.clean(prompt=prompt, params=params, allow_retired=True)
    admission_check(
        user=user,
        prompt=prompt,
        spec=spec,
        images=cleaned["n"],
        cost=job_estimate_usd(spec, cleaned) or Decimal("0"),
    )
    return _job_insert(
        owner=user,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=prompt.strip(),
        params=cleaned,
        submit_token=submit_token,
    )


def _job_insert(*, owner, **fields) -> GenerationJob:
    """Insert a job under the owner's admission lock; it is enqueued once committed.

    The full admission check ran before (it records refusals, which must survive);
    here the limits are counted again with the owner's row locked, so two
    submissions at the same instant cannot both slip under a quota.
    """
    params = fields.get("params", {})
    images = params.get("n", 1)
    # Reserved now, settled when the job ends: queued jobs count against the spend limit.
    reserved = job_estimate_usd(get_model(fields["model"]), params)
    with transaction.atomic():
        admission_limits_locked(user=owner, images=images, cost=reserved or Decimal("0"))
        job = GenerationJob.objects.create(owner=owner, cost_usd=reserved, **fields)
        transaction.on_commit(partial(job_enqueue, job_id=job.id))
    return job


def job_enqueue(*, job_id, countdown: float | None = None) -> None:
    from jobs.tasks import run_generation_job

    if countdown is None:
        run_generation_job.apply_async(args=(str(job_id),))
    else:
        run_generation_job.apply_async(args=(str(job_id),), countdown=countdown)


def job_cancel(*, job: GenerationJob) -> bool:
    """Cancel a job that has not finished. Before its provider request is sent, nothing is
    paid and its reservation is released. A provider call already under way still completes
    and is billed: when its images come back the worker keeps them, records their cost and
    says so on the card (``kept_after_cancel``). A Midjourney task is cancelled at the proxy
    too, at once (the next due poll tries again if this fails)."""
    unsent = Q(provider_request_sent_at__isnull=True)
    updated = GenerationJob.objects.filter(
        id=job.id, status__in=[Status.QUEUED, Status.RUNNING]
    ).update(
        status=Status.CANCELLED,
        cost_usd=Case(
            When(unsent, then=Value(None)), default=F("cost_usd"), output_field=money_field()
        ),
        images_stored=Case(
            When(unsent, then=Value(0)),
            default=F("images_stored"),
            output_field=GenerationJob._meta.get_field("images_stored"),
        ),
        finished_at=timezone.now(),
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if updated == 1:
        observability.job_transition(job, status=Status.CANCELLED, previous=job.status)
    if updated == 1 and job.provider == Family.MIDJOURNEY:
        # The worker may have recorded the task id since this instance was loaded.
        task_id = (
            GenerationJob.objects.filter(id=job.id)
            .values_list("provider_task_id", flat=True)
            .first()
        )
        if task_id:
            job.provider_task_id = task_id
            _midjourney_cancel_at_provider(job, timeout=MIDJOURNEY_CANCEL_TIMEOUT_SECONDS)
    return updated == 1


def job_resume(*, job: GenerationJob) -> bool:
    """Queue a failed job again when the provider's answer is kept: storing it costs nothing
    at the provider. Used by staff once storage (or a download) works again."""
    if not ProviderAnswer.objects.filter(job_id=job.id).exists():
        return False
    now = timezone.now()
    with transaction.atomic():
        resumed = GenerationJob.objects.filter(id=job.id, status=Status.FAILED).update(
            status=Status.QUEUED,
            attempts=0,
            error_code="",
            error_message="",
            progress="Resumed from the kept answer",
            finished_at=None,
            lease_expires_at=None,
            updated_at=now,
        )
        if resumed:
            transaction.on_commit(partial(job_enqueue, job_id=job.id))
    return resumed == 1


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the provider asked."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return round(min(delay, MAX_RETRY_DELAY_SECONDS), 2)


def money_field():
    return GenerationJob._meta.get_field("cost_usd")


def job_estimate_usd(spec: ModelSpec, params: dict) -> Decimal | None:
    """The registry's price for what a request asks for: what admission reserves."""
    price = spec.estimated_cost_usd(params=params)
    return None if price is None else Decimal(str(price))


def job_cost_usd(job: GenerationJob, *, images: int) -> Decimal | None:
    """Cost from the registry's per-image price for the job's quality."""
    price = get_model(job.model).estimated_cost_usd(params={**job.params, "n": images})
    return None if price is None else Decimal(str(price))


def user_reference(user_id: int) -> str:
    """A stable, non-identifying id sent to providers for abuse monitoring."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:user:{user_id}".encode()).hexdigest()[:32]


# -- running -------------------------------------------------------------------


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


def _inputs_or_outcome(job, token):
    """The job's input images, or the outcome when they cannot be read now."""
    try:
        return _job_inputs(job)
    except StorageUnavailable:
        delay = backoff_seconds(job.attempts)
        return _release_for_retry(
            job, token, code="storage_unavailable", clear_request=True, delay=delay
        )
    except InputUnavailable:
        _finish(job, token, Status.FAILED, code="input_unavailable")
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
        logger.info("job %s provider error %s (%s)", job.id, exc.code, exc.detail)
        if exc.code == "timeout_unknown_outcome":
            _finish(job, token, Status.UNKNOWN, code=exc.code)
        elif exc.retryable and job.attempts < settings.ATELIER_JOB_MAX_ATTEMPTS:
            delay = backoff_seconds(job.attempts, retry_after=exc.retry_after)
            return _release_for_retry(job, token, code=exc.code, clear_request=True, delay=delay)
        else:
            _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
            if exc.code in PROVIDER_REFUSAL_CODES:
                moderation_event_record(job=job, code=exc.code, detail=exc.detail)
        return RunOutcome()
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


def _store_images(job, token, answer: ProviderAnswer) -> None:
    import botocore.exceptions

    stored = set(Image.objects.filter(job=job).values_list("index", flat=True))
    for index, item in enumerate(answer.items):
        if index in stored:
            continue  # written by an earlier attempt; its row exists only after its objects
        data = _item_bytes(answer, index, item)
        try:
            image_store(
                job=job, index=index, data=data, revised_prompt=item.get("revised_prompt") or ""
            )
        except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            logger.warning("job %s storage write failed: %s", job.id, exc)
            observability.storage_error(operation="write")
            raise StorageUnavailable(str(exc)) from exc
        _guarded(job, token).update(
            progress=f"Saved {index + 1} of {len(answer.items)}", updated_at=timezone.now()
        )


def _item_bytes(answer: ProviderAnswer, index: int, item: dict) -> bytes:
    if item.get("b64_json"):
        try:
            return base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidImage("Its base64 data is corrupt.") from None
    if not item.get("url"):
        raise InvalidImage("The answer held neither image data nor a link.")
    data = download_image(item["url"], connection=connection_named(answer.job.connection))
    # Keep the bytes with the answer: the link dies in an hour, the answer must not.
    answer.items[index] = {**item, "b64_json": base64.b64encode(data).decode(), "url": item["url"]}
    answer.save(update_fields=["items"])
    return data


def download_image(url: str, *, connection: Connection | None) -> bytes:
    """Every provider link, of every family, goes through the one guarded fetcher."""
    return guarded_fetch(
        url,
        allowed_networks=connection.allowed_networks if connection is not None else (),
        timeout=settings.ATELIER_DOWNLOAD_TIMEOUT,
        max_bytes=settings.ATELIER_MAX_IMAGE_BYTES,
    )


def _trim_answer(answer: ProviderAnswer) -> None:
    """Drop image bytes from the kept answer once they are safely in storage."""
    answer.items = [
        {**item, "b64_json": None, "b64_bytes_trimmed": bool(item.get("b64_json"))}
        for item in answer.items
    ]
    answer.save(update_fields=["items"])


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
    for job_id, updated_at in candidates.values_list("id", "updated_at"):
        # Touching updated_at first means two reapers never enqueue the same job twice.
        if GenerationJob.objects.filter(id=job_id, updated_at=updated_at).update(updated_at=now):
            job_enqueue(job_id=job_id)
            requeued.append(job_id)
    if requeued or expired:
        logger.warning("reaper requeued %d job(s), expired %d", len(requeued), len(expired))
    return ReapReport(requeued=requeued, expired=expired)


def job_retry(*, job: GenerationJob) -> GenerationJob:
    """A new job with the same model, prompt, parameters and inputs as a finished one.

    It goes through the same validation and admission as any new job (the model may
    have been withdrawn, the user suspended) and points back at the job it retries.
    """
    if not job.is_finished:
        raise ValidationError({"job": ["This job has not finished yet."]})
    with transaction.atomic():
        if job.kind == GenerationJob.Kind.GENERATE:
            retry = job_create(
                user=job.owner, model_name=job.model, prompt=job.prompt, params=job.params
            )
        elif job.kind == GenerationJob.Kind.ACTION:
            if job.parent is None:
                raise ValidationError({"job": ["The task this button belonged to is gone."]})
            retry = job_create_midjourney_action(
                user=job.owner, job=job.parent, custom_id=job.params.get("custom_id", "")
            )
        else:
            # The stored inputs, not the gallery image: that may have changed or gone since.
            retry = _job_create_with_inputs(
                kind=Kind(job.kind),
                user=job.owner,
                model_name=job.model,
                prompt=job.prompt,
                params=job.params,
                images=[_retry_input(key) for key in job.input_keys],
                mask=_retry_input(job.mask_key) if job.mask_key else None,
            )
        # Same transaction as the create: the worker, enqueued on commit, sees the whole row.
        GenerationJob.objects.filter(id=retry.id).update(parent=job, source_image=job.source_image)
        retry.parent, retry.source_image = job, job.source_image
    return retry


def _retry_input(key: str) -> bytes:
    try:
        return _read_input(key)
    except (InputUnavailable, StorageUnavailable):
        raise ValidationError(
            {"images": ["The images this job used are no longer stored; start a new edit."]}
        ) from None


# -- edits, variations, blends, descriptions: jobs with uploaded inputs ---------------

_INPUT_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class InputUnavailable(Exception):
    pass


def job_create_edit(
    *,
    user,
    model_name: str,
    prompt: str,
    params: dict,
    images: list[bytes] | None = None,
    source_image=None,
    mask: bytes | None = None,
) -> GenerationJob:
    """An edit of uploaded images and/or a gallery image the caller has authorised."""
    return _job_create_with_inputs(
        kind=Kind.EDIT,
        user=user,
        model_name=model_name,
        prompt=prompt,
        params=params,
        images=images,
        source_image=source_image,
        mask=mask,
    )


def job_create_variation(
    *, user, model_name: str, params: dict, image: bytes | None = None, source_image=None
) -> GenerationJob:
    return _job_create_with_inputs(
        kind=Kind.VARIATION,
        user=user,
        model_name=model_name,
        prompt="",
        params=params,
        images=[image] if image is not None else None,
        source_image=source_image,
    )


def job_create_blend(*, user, model_name: str, images: list[bytes]) -> GenerationJob:
    """Midjourney's blend: two to five images merged into one grid, no prompt."""
    return _job_create_with_inputs(
        kind=Kind.BLEND, user=user, model_name=model_name, prompt="", params={}, images=images
    )


def job_create_describe(
    *, user, model_name: str, image: bytes | None = None, source_image=None
) -> GenerationJob:
    """Midjourney's describe: prompts suggested for an image, kept in ``response_text``."""
    return _job_create_with_inputs(
        kind=Kind.DESCRIBE,
        user=user,
        model_name=model_name,
        prompt="",
        params={},
        images=[image] if image is not None else None,
        source_image=source_image,
    )


def _input_count_error(spec: ModelSpec, kind: Kind, count: int) -> str | None:
    low, high = spec.input_count(kind)
    if count == 0:
        return "Upload an image, or pick one from your gallery."
    if low <= count <= high:
        return None
    if low == high:
        return f"{spec.label} takes exactly one image here; you gave {count}."
    return f"{spec.label} takes between {low} and {high} images; you gave {count}."


def _inputs_check(*, spec: ModelSpec, kind: Kind, images: list[bytes], mask: bytes | None):
    """Check uploads the way the provider will, before anything is stored or sent.

    Returns (errors by field, one ImageInfo per valid image, the mask's ImageInfo). A
    multi-picture JPEG in ``images`` is replaced, in place, by its first frame.
    """
    errors: dict[str, list[str]] = {}
    if kind not in spec.kinds:
        return errors, [], None  # the registry's own error says the model cannot do this
    count_error = _input_count_error(spec, kind, len(images))
    if count_error:
        errors["images"] = [count_error]
        return errors, [], None
    infos = []
    formats = " or ".join(spec.input_formats)
    for number, data in enumerate(images, start=1):
        prefix = f"Image {number}: " if len(images) > 1 else ""
        try:
            images[number - 1], info = image_accept(
                data, allowed_formats=spec.input_formats, max_bytes=spec.max_input_bytes
            )
        except InvalidImage as exc:
            errors.setdefault("images", []).append(
                f"{prefix}{exc} {spec.label} takes {formats} under "
                f"{spec.max_input_bytes // 1_048_576} MB."
            )
            continue
        if spec.square_inputs_only and info.width != info.height:
            errors.setdefault("images", []).append(
                f"{prefix}{spec.label} needs a square image; this one is "
                f"{info.width}x{info.height}."
            )
        infos.append(info)

    mask_info = None
    if mask is not None:
        if not spec.masks or kind is not Kind.EDIT:
            errors["mask"] = [f"{spec.label} does not take a mask."]
        else:
            try:
                mask_info = inspect_image(
                    mask, allowed_formats=("PNG",), max_bytes=spec.mask_max_bytes
                )
            except InvalidImage as exc:
                errors["mask"] = [f"{exc} The mask must be a PNG under 4 MB."]
            else:
                first = infos[0] if infos and len(infos) == len(images) else None
                if first and (mask_info.width, mask_info.height) != (first.width, first.height):
                    errors["mask"] = [
                        f"The mask is {mask_info.width}x{mask_info.height} but the image is "
                        f"{first.width}x{first.height}; they must be the same size."
                    ]
                elif not mask_info.has_alpha:
                    errors["mask"] = [
                        "The mask needs an alpha channel: its fully transparent areas mark "
                        "where to edit."
                    ]
    elif kind is Kind.EDIT and spec.edit_needs_transparency and infos:
        if not infos[0].has_alpha:
            errors.setdefault("images", []).append(
                f"Without a mask, {spec.label} edits the image's transparent areas and this "
                "image has none. Add a mask, or upload a PNG with transparency."
            )
    return errors, infos, mask_info


def _source_image_bytes(source_image) -> bytes:
    try:
        with default_storage.open(source_image.original_key, "rb") as handle:
            return handle.read()
    except Exception as exc:  # storage backends raise a variety; the user needs one message
        logger.warning("source image %s unreadable: %s", source_image.pk, exc)
        raise ValidationError(
            {"source_image": ["That image could not be read from storage; try again shortly."]}
        ) from exc


def _job_create_with_inputs(
    *,
    kind: Kind,
    user,
    model_name: str,
    prompt: str,
    params: dict,
    images: list[bytes] | None = None,
    source_image=None,
    mask: bytes | None = None,
) -> GenerationJob:
    try:
        spec = get_model(model_name)
    except UnknownModel:
        raise ValidationError({"model": [f"Unknown model {model_name!r}."]}) from None
    connection = connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {"model": [f"No provider connection serves {spec.label}. Pick another model."]}
        )
    errors: dict[str, list[str]] = {}
    try:
        cleaned = spec.clean(prompt=prompt, params=params, allow_retired=True, kind=kind)
    except ValidationError as error:
        errors.update(error.message_dict)
        cleaned = {}
    all_images = ([_source_image_bytes(source_image)] if source_image is not None else []) + list(
        images or []
    )
    input_errors, infos, _mask_info = _inputs_check(
        spec=spec, kind=kind, images=all_images, mask=mask
    )
    for key, messages in input_errors.items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    admission_check(
        user=user,
        prompt=prompt,
        spec=spec,
        images=cleaned.get("n", 1),
        cost=job_estimate_usd(spec, cleaned) or Decimal("0"),
    )

    job_id = uuid.uuid4()
    # Keys derive from the job id, so a retried create overwrites rather than piles up.
    input_keys = [f"inputs/{job_id}/{index}.{info.extension}" for index, info in enumerate(infos)]
    mask_key = f"inputs/{job_id}/mask.png" if mask is not None else ""
    try:
        for key, data in zip(input_keys, all_images, strict=True):
            default_storage.save(key, ContentFile(data))
        if mask_key:
            default_storage.save(mask_key, ContentFile(mask))
    except Exception as exc:  # botocore or OSError: say so instead of a 500
        logger.warning("storing inputs for a new job failed: %s", exc)
        raise ValidationError(
            {"images": ["Atelier could not store the upload right now; try again in a minute."]}
        ) from exc
    return _job_insert(
        id=job_id,
        kind=kind.value,
        owner=user,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=(prompt or "").strip(),
        params=cleaned,
        source_image=source_image,
        input_keys=input_keys,
        mask_key=mask_key,
    )


def _read_input(key: str) -> bytes:
    import botocore.exceptions

    try:
        if not default_storage.exists(key):
            raise InputUnavailable(key)
        with default_storage.open(key, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise InputUnavailable(key) from exc
    except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        observability.storage_error(operation="read")
        raise StorageUnavailable(str(exc)) from exc


def _job_inputs(job: GenerationJob) -> JobInputs | None:
    if not job.input_keys:
        return None
    images = []
    for key in job.input_keys:
        name = key.rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[-1]
        images.append(
            InputFile(
                name=name,
                data=_read_input(key),
                content_type=_INPUT_CONTENT_TYPES.get(extension, "application/octet-stream"),
            )
        )
    mask = None
    if job.mask_key:
        mask = InputFile(name="mask.png", data=_read_input(job.mask_key), content_type="image/png")
    return JobInputs(images=images, mask=mask)


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


# -- Midjourney: submit once, then poll without holding a worker -------------------------


def _midjourney_fail_or_retry(job, token, exc: ProviderError) -> RunOutcome:
    logger.info("job %s midjourney error %s (%s)", job.id, exc.code, exc.detail)
    if exc.code == "timeout_unknown_outcome":
        _finish(job, token, Status.UNKNOWN, code=exc.code)
    elif exc.retryable and job.attempts < settings.ATELIER_JOB_MAX_ATTEMPTS:
        delay = backoff_seconds(job.attempts, retry_after=exc.retry_after)
        return _release_for_retry(job, token, code=exc.code, clear_request=True, delay=delay)
    else:
        _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
    return RunOutcome()


def _midjourney_submit(client: MidjourneyClient, job, inputs: JobInputs | None) -> str:
    images = inputs.images if inputs else []
    if job.kind == GenerationJob.Kind.ACTION:
        result = client.action(task_id=job.params["task_id"], custom_id=job.params["custom_id"])
    elif job.kind == Kind.BLEND:
        result = client.blend(images=images)
    elif job.kind == Kind.DESCRIBE:
        result = client.describe(image=images[0])
    else:
        result = client.imagine(prompt=job.prompt, images=images)
    return result.task_id


def _midjourney_wait(job, token, *, progress: str) -> RunOutcome:
    """Come back later: the lease runs out when the next poll is due, so that poll (or the
    reaper, if the message is lost) can claim the job again."""
    # Back off with the task's age: a task running for minutes is polled every few seconds.
    elapsed = (timezone.now() - job.provider_request_sent_at).total_seconds()
    ceiling = min(
        settings.ATELIER_MIDJOURNEY_POLL_MAX_SECONDS,
        max(settings.ATELIER_MIDJOURNEY_POLL_SECONDS, elapsed / 4),
    )
    delay = round(random.uniform(ceiling * 0.8, ceiling), 2)
    now = timezone.now()
    _guarded(job, token).update(
        progress=progress[:64],
        lease_expires_at=now + dt.timedelta(seconds=delay),
        updated_at=now,
    )
    return RunOutcome(retry_in=delay)


def _midjourney_step(job, token) -> ProviderAnswer | RunOutcome:
    spec = get_model(job.model)
    connection = connection_named(job.connection)
    if connection is None or spec.name not in connection.models:
        _finish(job, token, Status.FAILED, code="no_connection")
        return RunOutcome()
    if connection.key_problem:
        # A key we cannot read, or one meant for another host, is never replaced by "".
        _finish(job, token, Status.FAILED, code=connection.key_problem)
        return RunOutcome()
    client = MidjourneyClient(connection)

    if not job.provider_task_id:
        # A task already submitted is never submitted again: without its id we cannot
        # know whether it exists, so the outcome is unknown.
        refused = _send_refused(job, token)
        if refused is not None:
            return refused
        inputs = _inputs_or_outcome(job, token)
        if isinstance(inputs, RunOutcome):
            return inputs
        sent_at = timezone.now()
        if _guarded(job, token).update(provider_request_sent_at=sent_at) != 1:
            return RunOutcome()
        job.provider_request_sent_at = sent_at
        try:
            with observability.provider_request(job):
                task_id = _midjourney_submit(client, job, inputs)
        except ProviderError as exc:
            return _midjourney_fail_or_retry(job, token, exc)
        if _guarded(job, token).update(provider_task_id=task_id, error_code="") != 1:
            return RunOutcome()
        job.provider_task_id = task_id
        return _midjourney_wait(job, token, progress="Submitted")

    # A poll is not a provider attempt: attempts keep counting submits and storage retries.
    if _guarded(job, token).update(attempts=F("attempts") - 1) != 1:
        return RunOutcome()
    job.attempts -= 1
    deadline = job.provider_request_sent_at + dt.timedelta(
        seconds=settings.ATELIER_MIDJOURNEY_TIMEOUT
    )
    try:
        with observability.provider_request(job):
            task = client.fetch(job.provider_task_id)
    except ProviderError as exc:
        if (exc.retryable or exc.code == "timeout_unknown_outcome") and (timezone.now() < deadline):
            return _midjourney_wait(job, token, progress=job.progress or "Waiting for Midjourney")
        if exc.retryable:
            task = None
        else:
            lost = exc.code == "mj_task_lost"
            _finish(job, token, Status.UNKNOWN if lost else Status.FAILED, code=exc.code)
            return RunOutcome()

    if task is not None and task.status == "SUCCESS":
        return _midjourney_keep_answer(job, token, task)
    if task is not None and task.status in ("FAILURE", "CANCEL"):
        error = ProviderError("mj_task_failed", detail=task.fail_reason or task.status.lower())
        _finish(job, token, Status.FAILED, code=error.code, message=error.message)
        return RunOutcome()
    # A task that could not be fetched is only left when the deadline has passed (above).
    if timezone.now() >= deadline or task is None:
        try:
            client.cancel(job.provider_task_id)
        except ProviderError as exc:
            logger.info("job %s midjourney cancel failed: %s", job.id, exc.code)
        _finish(job, token, Status.FAILED, code="mj_timeout")
        return RunOutcome()
    if task.status == "MODAL":
        return _midjourney_confirm(job, token, client)
    return _midjourney_wait(job, token, progress=task.progress or task.status.title())


def _midjourney_confirm(job, token, client: MidjourneyClient) -> RunOutcome:
    """Some buttons (Custom Zoom, Vary (Region)) open a modal: the action answers code 21
    and its task waits, status MODAL, until /mj/submit/modal confirms it with a prompt.
    The confirmation is marked sent before it is sent, so it is never sent twice."""
    if job.provider_modal_sent_at is not None:
        # Sent by an earlier poll (or its outcome is unknown): the task will move on, or
        # stay put until the deadline cancels it.
        return _midjourney_wait(job, token, progress="Confirming")
    if _guarded(job, token).update(provider_modal_sent_at=timezone.now()) != 1:
        return RunOutcome()
    try:
        result = client.modal(task_id=job.provider_task_id, prompt=job.prompt)
    except ProviderError as exc:
        logger.info("job %s midjourney modal error %s (%s)", job.id, exc.code, exc.detail)
        if exc.code == "timeout_unknown_outcome":
            return _midjourney_wait(job, token, progress="Confirming")
        if exc.retryable:
            # Not accepted: the next poll, still within the deadline, confirms again.
            if _guarded(job, token).update(provider_modal_sent_at=None) != 1:
                return RunOutcome()
            return _midjourney_wait(job, token, progress="Waiting to confirm")
        _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
        return RunOutcome()
    if result.task_id != job.provider_task_id:
        # Some proxies carry on under a new id; the waiting one never moves again.
        if _guarded(job, token).update(provider_task_id=result.task_id) != 1:
            return RunOutcome()
        job.provider_task_id = result.task_id
    return _midjourney_wait(job, token, progress="Confirmed")


def _midjourney_keep_answer(job, token, task: MidjourneyTask) -> ProviderAnswer | RunOutcome:
    if job.kind == Kind.DESCRIBE:
        # The task's image is the one we uploaded; the answer is the suggested prompts.
        items, text = [], task.final_prompt or task.prompt
        if not text:
            _finish(
                job,
                token,
                Status.FAILED,
                code="no_images",
                message="Midjourney described the image without any words.",
            )
            return RunOutcome()
    else:
        items, text = ([{"url": task.image_url}] if task.image_url else []), ""
        if not items:
            _finish(job, token, Status.FAILED, code="no_images")
            return RunOutcome()
    with transaction.atomic():
        answer = ProviderAnswer.objects.create(job=job, items=items, text=text)
        _guarded(job, token).update(
            provider_actions=task.buttons, response_text=text, progress="100%"
        )
    return answer


def _midjourney_cancel_at_provider(job, *, timeout: float | None = None) -> None:
    """Tell Midjourney about a cancel made in Atelier, once: when it is made, or else at
    the next due poll."""
    if job.provider != Family.MIDJOURNEY:
        return
    claimed = GenerationJob.objects.filter(
        id=job.id, status=Status.CANCELLED, provider_task_id=job.provider_task_id
    ).exclude(error_code="cancelled_at_provider")
    if claimed.update(error_code="cancelled_at_provider") != 1:
        return
    connection = connection_named(job.connection)
    if connection is None:
        return
    try:
        MidjourneyClient(connection).cancel(job.provider_task_id, timeout=timeout)
    except ProviderError as exc:
        logger.warning("job %s midjourney cancel failed: %s", job.id, exc.code)
        # Let the next due poll try again.
        GenerationJob.objects.filter(id=job.id, error_code="cancelled_at_provider").update(
            error_code=""
        )


def job_create_midjourney_action(*, user, job: GenerationJob, custom_id: str) -> GenerationJob:
    """A follow-up on a finished Midjourney task: one of its buttons (U1, V2, reroll …)."""
    if job.provider != Family.MIDJOURNEY or not job.provider_task_id:
        raise ValidationError({"job": ["Only Midjourney images have buttons."]})
    if job.status != Status.SUCCEEDED:
        raise ValidationError({"job": ["The Midjourney task has not finished yet."]})
    button = next((b for b in job.provider_actions if b.get("custom_id") == custom_id), None)
    if button is None:
        raise ValidationError({"custom_id": [message_for("mj_no_actions")]})
    spec = get_model(job.model)
    connection = connection_named(job.connection) or connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {"model": [f"No provider connection serves {spec.label}. Pick another model."]}
        )
    admission_check(
        user=user, prompt=job.prompt, spec=spec, cost=job_estimate_usd(spec, {}) or Decimal("0")
    )
    return _job_insert(
        owner=user,
        kind=GenerationJob.Kind.ACTION,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=job.prompt,
        params={
            "task_id": job.provider_task_id,
            "custom_id": custom_id,
            "label": button.get("label") or button.get("emoji") or "",
        },
        parent=job,
    )
