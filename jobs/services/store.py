"""Storing a kept answer's images: decode or download, write, trim the answer."""

from __future__ import annotations

import base64
import binascii
import logging

from django.conf import settings
from django.utils import timezone

from gallery.imaging import InvalidImage
from gallery.models import Image
from gallery.services import image_store
from jobs import observability
from jobs.connections import Connection, connection_named
from jobs.models import ProviderAnswer
from jobs.providers.fetch import guarded_fetch
from jobs.services.state import StorageUnavailable, _guarded

logger = logging.getLogger(__name__)


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
