from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from gallery.imaging import inspect_image, make_thumbnail
from gallery.models import Image


def image_keys(*, job_id, index: int, extension: str) -> tuple[str, str]:
    """Keys derive from the job and index, so a retry overwrites instead of duplicating."""
    return f"originals/{job_id}/{index}.{extension}", f"thumbnails/{job_id}/{index}.webp"


def image_store(*, job, index: int, data: bytes, revised_prompt: str = "") -> Image:
    """Verify one generated image, write it and its thumbnail, and record it.

    Raises ``gallery.imaging.InvalidImage`` for bad bytes and storage errors
    (OSError, botocore errors) when the storage cannot be written.
    """
    info = inspect_image(data)
    original_key, thumbnail_key = image_keys(job_id=job.id, index=index, extension=info.extension)
    thumbnail = make_thumbnail(data)
    default_storage.save(original_key, ContentFile(data))
    default_storage.save(thumbnail_key, ContentFile(thumbnail))
    image, _ = Image.objects.update_or_create(
        job=job,
        index=index,
        defaults={
            "owner_id": job.owner_id,
            "original_key": original_key,
            "thumbnail_key": thumbnail_key,
            "width": info.width,
            "height": info.height,
            "format": info.format,
            "bytes": info.bytes,
            "sha256": info.sha256,
            "revised_prompt": revised_prompt,
        },
    )
    return image
