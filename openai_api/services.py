"""Writing side of the OpenAI-compatible endpoint: idempotency keys and the jobs they make.

Jobs are made by ``jobs.services`` exactly as the studio makes them (registry validation,
admission, quotas, moderation); this module only decides whether a request is new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jobs import services as job_services
from jobs.forms import GenerationForm
from jobs.models import CANCELLED_KEPT, GenerationJob
from jobs.registry import Kind
from openai_api.models import IdempotencyKey

# A claim whose request died before it made its job is taken over after this long.
ABANDONED_CLAIM = dt.timedelta(seconds=60)
Status = GenerationJob.Status


@dataclass(frozen=True)
class ApiRequest:
    """One parsed request: what to make, and how to answer."""

    kind: Kind
    model: str
    prompt: str
    params: dict
    images: tuple[bytes, ...] = ()
    mask: bytes | None = None
    response_format: str = "b64_json"
    stream: bool = False

    def fingerprint(self, endpoint: str) -> str:
        digest = hashlib.sha256()
        head = {
            "endpoint": endpoint,
            "model": self.model,
            "prompt": self.prompt,
            "params": self.params,
            "response_format": self.response_format,
            "stream": self.stream,
        }
        digest.update(json.dumps(head, sort_keys=True, default=str).encode())
        # Files by content: a multipart body's boundary differs on every retry.
        for data in (*self.images, b"mask", self.mask or b""):
            digest.update(hashlib.sha256(data).digest())
        return digest.hexdigest()


def _reusable(record: IdempotencyKey, *, now: dt.datetime) -> bool:
    """Whether a repeat of ``record``'s request gets its job. A derived key lets go of a job
    that ended without images (failed, cancelled), so asking again later tries again; a
    client's own key always answers with its first job."""
    if record.job_id is None:
        return record.created_at > now - ABANDONED_CLAIM
    if not record.derived:
        return True
    job = record.job
    assert job is not None
    return not (
        job.status == Status.FAILED
        or (job.status == Status.CANCELLED and job.error_code != CANCELLED_KEPT)
    )


def idempotency_claim(
    *, token, key: str | None, endpoint: str, fingerprint: str
) -> tuple[IdempotencyKey, bool] | None:
    """The request's key, and whether this request is the first to hold it; None when
    derived keys are off and the client sent none (every request is new)."""
    derived = key is None
    derived_window = dt.timedelta(seconds=settings.ATELIER_API_DERIVED_KEY_SECONDS)
    if key is None:
        if not derived_window:
            return None
        key = f"derived:{fingerprint}"
    now = timezone.now()
    # The token's expired keys go as it makes new ones (the unique index leads with token).
    IdempotencyKey.objects.filter(token=token).filter(
        Q(derived=True, created_at__lt=now - derived_window)
        | Q(created_at__lt=now - dt.timedelta(hours=settings.ATELIER_API_IDEMPOTENCY_KEY_HOURS))
    ).delete()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    token=token,
                    key=key,
                    derived=derived,
                    endpoint=endpoint,
                    fingerprint=fingerprint,
                )
            return record, True
        except IntegrityError:
            earlier = (
                IdempotencyKey.objects.select_related("job").filter(token=token, key=key).first()
            )
            if earlier is None:
                continue  # its first request gave up between our insert and our read
            if _reusable(earlier, now=now):
                return earlier, False
            IdempotencyKey.objects.filter(pk=earlier.pk, job_id=earlier.job_id).delete()
    raise RuntimeError(f"idempotency key {key!r} is contended")


def idempotency_bind(*, record: IdempotencyKey, job: GenerationJob) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(job=job)


def idempotency_release(*, record: IdempotencyKey) -> None:
    """The request that held the key made no job (refused, invalid): a repeat starts over."""
    IdempotencyKey.objects.filter(pk=record.pk, job__isnull=True).delete()


def idempotency_job_id(*, record_id: int):
    """The job a claim made so far: a job id, None while it is being made, or ``False``
    when the claim was let go (its request made no job)."""
    row = IdempotencyKey.objects.filter(pk=record_id).values_list("job_id", flat=True).first()
    if row is None and not IdempotencyKey.objects.filter(pk=record_id).exists():
        return False
    return row


def api_job_create(*, user, request: ApiRequest) -> GenerationJob:
    """The job a request asks for, made by the studio's own services (ValidationError or
    JobRefused as the studio gets them)."""
    if request.kind is Kind.GENERATE:
        # The composer's form: the same field checks as the studio's, then its service.
        form = GenerationForm(
            data={"model": request.model, "prompt": request.prompt, **request.params}
        )
        if not form.is_valid():
            raise ValidationError(
                {field: [str(m) for m in messages] for field, messages in form.errors.items()}
            )
        return job_services.job_create(
            user=user,
            model_name=form.cleaned_data["model"],
            prompt=form.cleaned_data["prompt"],
            params=form.params(),
        )
    if request.kind is Kind.EDIT:
        return job_services.job_create_edit(
            user=user,
            model_name=request.model,
            prompt=request.prompt,
            params=request.params,
            images=list(request.images),
            mask=request.mask,
        )
    return job_services.job_create_variation(
        user=user, model_name=request.model, params=request.params, image=request.images[0]
    )


def api_images_share(*, token, result) -> None:
    """A token that acts for a team puts what it makes in that team's library (when its
    user may still add there; otherwise the images stay the user's own)."""
    from gallery.models import Image
    from gallery.services import image_share

    images = list(Image.objects.filter(id__in=[row.id for row in result.images], team=None))
    if not images:
        return
    try:
        image_share(user=token.user, images=images, team=token.team)
    except ValidationError:
        pass
