"""Input images of edits, variations, blends and descriptions: checked, stored, read."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext

from gallery.imaging import InvalidImage, image_accept, inspect_image
from jobs import observability
from jobs.models import GenerationJob
from jobs.providers.base import InputFile, JobInputs
from jobs.registry import Kind, ModelSpec
from jobs.services.state import (
    RunOutcome,
    StorageUnavailable,
    _finish,
    _release_for_retry,
    backoff_seconds,
)

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


_INPUT_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class InputUnavailable(Exception):
    pass


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
            {
                "source_image": [
                    gettext("That image could not be read from storage; try again shortly.")
                ]
            }
        ) from exc


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
