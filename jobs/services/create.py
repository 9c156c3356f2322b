"""Creating jobs: validation from the registry, admission, insert, enqueue on commit."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext

from jobs.admission import admission_check, admission_limits_locked
from jobs.connections import connection_for_model, unserved_message
from jobs.models import GenerationJob
from jobs.registry import Kind, UnknownModel, get_model
from jobs.services.inputs import _inputs_check, _source_image_bytes
from jobs.services.money import job_estimate_usd

logger = logging.getLogger(__name__)


def job_create(
    *, user, model_name: str, prompt: str, params: dict, submit_token: uuid.UUID | None = None
) -> GenerationJob:
    """A new job; with ``submit_token`` (the studio form's), a second insert with the same
    token raises IntegrityError, so a doubled submit never makes a second job."""
    try:
        spec = get_model(model_name)
    except UnknownModel:
        raise ValidationError(
            {"model": [gettext("Unknown model %(name)r.") % {"name": model_name}]}
        ) from None
    connection = connection_for_model(spec)
    if connection is None:
        raise ValidationError({"model": [_no_connection(spec)]})
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


def job_store_enqueue(*, job_id) -> None:
    """Hand a job whose answer is kept to the CPU stage (its own queue, by task route)."""
    from jobs.tasks import store_generation_job

    store_generation_job.apply_async(args=(str(job_id),))


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
        raise ValidationError(
            {"model": [gettext("Unknown model %(name)r.") % {"name": model_name}]}
        ) from None
    connection = connection_for_model(spec)
    if connection is None:
        raise ValidationError({"model": [_no_connection(spec)]})
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
            {
                "images": [
                    gettext("Atelier could not store the upload right now; try again in a minute.")
                ]
            }
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


def _no_connection(spec) -> str:
    # Names the successor of a model shut down at its maker (jobs.connections).
    return unserved_message(spec)
