"""Reading side of the OpenAI-compatible endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from jobs.connections import offered_models
from jobs.models import CANCELLED_KEPT, GenerationJob
from jobs.registry import Kind, ModelSpec


@dataclass(frozen=True)
class ImageRow:
    id: int
    key: str
    format: str
    width: int
    height: int
    revised_prompt: str


@dataclass(frozen=True)
class JobResult:
    """What an answer needs of a job, read in one short step."""

    id: uuid.UUID
    status: str
    error_code: str
    error_message: str
    created: int
    params: dict
    usage: dict
    images: tuple[ImageRow, ...]

    @property
    def finished(self) -> bool:
        return self.status in GenerationJob.TERMINAL

    @property
    def kept_after_cancel(self) -> bool:
        return self.status == GenerationJob.Status.CANCELLED and self.error_code == CANCELLED_KEPT


def job_result(*, job_id: uuid.UUID) -> JobResult | None:
    job = GenerationJob.objects.filter(id=job_id).first()
    if job is None:
        return None
    # Hidden images stay out of answers, as they vanish from the studio.
    images = job.images.filter(is_hidden=False).order_by("index")
    return JobResult(
        id=job.id,
        status=job.status,
        error_code=job.error_code,
        error_message=job.error_message,
        created=int(job.created_at.timestamp()),
        params=dict(job.params),
        usage=dict(job.usage or {}),
        images=tuple(
            ImageRow(
                id=image.id,
                key=image.original_key,
                format=image.format,
                width=image.width,
                height=image.height,
                revised_prompt=image.revised_prompt,
            )
            for image in images
        ),
    )


def api_models(*, kind: Kind | None = None) -> list[ModelSpec]:
    """The models the connections offer, as /v1/models lists them."""
    return [spec for spec in offered_models() if kind is None or kind in spec.kinds]


def default_model_name() -> str | None:
    from django.conf import settings

    if settings.ATELIER_API_DEFAULT_MODEL:
        return settings.ATELIER_API_DEFAULT_MODEL
    offered = api_models(kind=Kind.GENERATE)
    return offered[0].name if offered else None
