"""What people and staff do to existing jobs: cancel, resume, retry."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from jobs import observability
from jobs.models import GenerationJob, ProviderAnswer
from jobs.registry import Family, Kind
from jobs.services.create import _job_create_with_inputs, job_create, job_enqueue
from jobs.services.inputs import InputUnavailable, _read_input
from jobs.services.midjourney import (
    _midjourney_cancel_at_provider,
    job_create_midjourney_action,
    job_create_swap_face,
)
from jobs.services.money import money_field
from jobs.services.state import MIDJOURNEY_CANCEL_TIMEOUT_SECONDS, StorageUnavailable

Status = GenerationJob.Status


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
            progress=gettext_noop("Resumed from the kept answer"),
            finished_at=None,
            lease_expires_at=None,
            updated_at=now,
        )
        if resumed:
            transaction.on_commit(partial(job_enqueue, job_id=job.id))
    return resumed == 1


def job_retry(*, job: GenerationJob) -> GenerationJob:
    """A new job with the same model, prompt, parameters and inputs as a finished one.

    It goes through the same validation and admission as any new job (the model may
    have been withdrawn, the user suspended) and points back at the job it retries.
    """
    if not job.is_finished:
        raise ValidationError({"job": [gettext("This job has not finished yet.")]})
    with transaction.atomic():
        if job.kind == GenerationJob.Kind.GENERATE:
            retry = job_create(
                user=job.owner, model_name=job.model, prompt=job.prompt, params=job.params
            )
        elif job.kind == GenerationJob.Kind.ACTION:
            if job.parent is None:
                raise ValidationError(
                    {"job": [gettext("The task this button belonged to is gone.")]}
                )
            retry = job_create_midjourney_action(
                user=job.owner, job=job.parent, custom_id=job.params.get("custom_id", "")
            )
        elif job.kind == GenerationJob.Kind.SWAP_FACE:
            source, target = (_retry_input(key) for key in job.input_keys)
            retry = job_create_swap_face(
                user=job.owner, model_name=job.model, source=source, target=target
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
            {
                "images": [
                    gettext("The images this job used are no longer stored; start a new edit.")
                ]
            }
        ) from None
