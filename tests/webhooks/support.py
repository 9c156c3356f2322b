"""Rows the webhooks tests start from."""

from __future__ import annotations

from django.utils import timezone

from gallery.models import Image
from jobs.models import GenerationJob
from webhooks import sealing, services
from webhooks.models import Endpoint

Status = GenerationJob.Status


def finished_job(owner, *, status=Status.SUCCEEDED, **fields) -> GenerationJob:
    return GenerationJob.objects.create(
        owner=owner,
        provider="openai_images",
        connection="openai",
        model="gpt-image-1.5",
        prompt="a lighthouse in fog",
        status=status,
        cost_usd=fields.pop("cost_usd", "0.0400"),
        finished_at=fields.pop("finished_at", timezone.now()),
        **fields,
    )


def image_of(job, *, index=0, team=None) -> Image:
    return Image.objects.create(
        owner=job.owner,
        job=job,
        index=index,
        original_key=f"originals/{job.id}/{index}.png",
        thumbnail_key=f"thumbs/{job.id}/{index}.webp",
        width=1024,
        height=1024,
        format="PNG",
        bytes=1000,
        sha256="0" * 64,
        prompt=job.prompt,
        team=team,
    )


def endpoint_for(user, url, **fields) -> Endpoint:
    """Made as the service does, minus the address check (tests of refusals need it)."""
    return Endpoint.objects.create(
        owner=fields.pop("owner", user),
        created_by=user,
        url=url,
        event_types=fields.pop("event_types", ["job.succeeded", "job.failed"]),
        secret_sealed=sealing.secret_seal(services._secret_new()),
        **fields,
    )


def secret_of(endpoint: Endpoint) -> str:
    """The endpoint's signing secret, as a receiver knows it (the row holds it sealed)."""
    return services.endpoint_secret(endpoint=endpoint)
