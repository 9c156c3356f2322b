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

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from gallery.imaging import InvalidImage
from gallery.models import Image
from gallery.services import image_store
from jobs.admission import admission_check
from jobs.connections import connection_for_model, connection_named
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers import ProviderError, provider_for
from jobs.providers.errors import message_for
from jobs.registry import Family, UnknownModel, get_model
from moderation.services import PROVIDER_REFUSAL_CODES, moderation_event_record

logger = logging.getLogger(__name__)
Status = GenerationJob.Status

# Provider URLs die 60 minutes after the image was made; stop trying a little before.
PROVIDER_URL_LIFETIME = dt.timedelta(minutes=55)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 120.0
# Never wait longer than this, whatever Retry-After says: a longer wait is the reaper's job.
MAX_RETRY_DELAY_SECONDS = 900.0


class StorageUnavailable(Exception):
    pass


@dataclass(frozen=True)
class RunOutcome:
    """What the task should do next: nothing, or try again after ``retry_in`` seconds."""

    retry_in: float | None = None


def job_create(*, user, model_name: str, prompt: str, params: dict) -> GenerationJob:
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
    admission_check(user=user, prompt=prompt, spec=spec)
    job = GenerationJob.objects.create(
        owner=user,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=prompt.strip(),
        params=cleaned,
    )
    transaction.on_commit(partial(job_enqueue, job_id=job.id))
    return job


def job_enqueue(*, job_id, countdown: float | None = None) -> None:
    from jobs.tasks import run_generation_job

    run_generation_job.apply_async(args=[str(job_id)], countdown=countdown)


def job_cancel(*, job: GenerationJob) -> bool:
    """Cancel a job that has not finished. A provider call already under way still
    completes at the provider; whatever it returns is not stored."""
    updated = GenerationJob.objects.filter(
        id=job.id, status__in=[Status.QUEUED, Status.RUNNING]
    ).update(
        status=Status.CANCELLED,
        finished_at=timezone.now(),
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    return updated == 1


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the provider asked."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return round(min(delay, MAX_RETRY_DELAY_SECONDS), 2)


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


def _finish(job, token, status, *, code: str = "", message: str = "") -> None:
    now = timezone.now()
    _guarded(job, token).update(
        status=status,
        error_code=code,
        error_message=message or (message_for(code) if code else ""),
        progress="",
        finished_at=now,
        lease_expires_at=None,
        updated_at=now,
    )


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
        return RunOutcome()
    return RunOutcome(retry_in=delay)


def job_run(*, job_id) -> RunOutcome:
    """Run one attempt of a job. Raises GenerationJob.DoesNotExist for a missing row."""
    token = _claim(job_id)
    job = GenerationJob.objects.get(id=job_id)
    if token is None:
        return RunOutcome()  # finished, cancelled, or held by a live worker

    answer = ProviderAnswer.objects.filter(job=job).first()
    if answer is None:
        if job.provider_request_sent_at is not None:
            # An earlier attempt sent the request and died before keeping the answer.
            _finish(job, token, Status.UNKNOWN, code="timeout_unknown_outcome")
            return RunOutcome()
        if job.attempts > settings.ATELIER_JOB_MAX_ATTEMPTS:
            _finish(job, token, Status.FAILED, code="too_many_attempts")
            return RunOutcome()
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

    _guarded(job, token).update(cost_usd=job_cost_usd(job, images=len(answer.items)))
    _finish(job, token, Status.SUCCEEDED)
    _trim_answer(answer)
    return RunOutcome()


def _call_provider(job, token) -> ProviderAnswer | RunOutcome:
    spec = get_model(job.model)
    connection = connection_named(job.connection)
    if connection is None or spec.name not in connection.models:
        _finish(job, token, Status.FAILED, code="no_connection")
        return RunOutcome()
    if _guarded(job, token).update(provider_request_sent_at=timezone.now()) != 1:
        return RunOutcome()
    try:
        result = provider_for(Family(job.provider)).generate(
            connection=connection,
            spec=spec,
            prompt=job.prompt,
            params=job.params,
            user_ref=user_reference(job.owner_id),
        )
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
    with transaction.atomic():
        answer = ProviderAnswer.objects.create(
            job=job, items=result.items, usage=result.usage, text=result.text
        )
        _guarded(job, token).update(usage=result.usage, response_text=result.text)
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
    data = download_image(item["url"])
    # Keep the bytes with the answer: the link dies in an hour, the answer must not.
    answer.items[index] = {**item, "b64_json": base64.b64encode(data).decode(), "url": item["url"]}
    answer.save(update_fields=["items"])
    return data


def download_image(url: str) -> bytes:
    limit = settings.ATELIER_MAX_IMAGE_BYTES
    try:
        with httpx.stream(
            "GET", url, timeout=settings.ATELIER_DOWNLOAD_TIMEOUT, follow_redirects=True
        ) as response:
            if response.status_code in (401, 403, 404, 410):
                raise ProviderError("image_url_expired", http_status=response.status_code)
            if response.status_code >= 400:
                raise ProviderError("image_download_failed", http_status=response.status_code)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise InvalidImage(f"The image is larger than {limit // 1_048_576} MB.")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ProviderError("image_download_failed", detail=str(exc)) from exc
    return b"".join(chunks)


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
            finished_at=now,
            lease_expires_at=None,
            updated_at=now,
        )
        if updated:
            expired.append(job_id)

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
        retry = job_create(
            user=job.owner, model_name=job.model, prompt=job.prompt, params=job.params
        )
        # Same transaction as the create: the worker, enqueued on commit, sees the whole row.
        GenerationJob.objects.filter(id=retry.id).update(parent=job)
        retry.parent = job
    return retry
