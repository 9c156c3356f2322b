"""The kept answer in storage: the hand-off between the I/O stage and the CPU stage.

The I/O stage writes each image of a provider's answer to storage as it was received
(``answers/<job>/<i>.b64``: the base64 text; ``answers/<job>/<i>.bin``: a link's body,
streamed through the guarded fetcher) and ``ProviderAnswer.item_keys`` names them, so the
row holds keys, not images, and any container can read them. Decoding is the CPU stage's
work. Rows written before keys existed (or while storage was down) keep base64 inline in
``items`` and stay readable.
"""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from gallery.imaging import InvalidImage
from gallery.storage import storage_read
from jobs import observability
from jobs.connections import connection_named
from jobs.models import ProviderAnswer
from jobs.providers.base import ProviderResult
from jobs.providers.fetch import guarded_fetch_into
from jobs.services.state import StorageUnavailable, _held, release_db

logger = logging.getLogger(__name__)

# A download is spooled in memory up to this size, then on disk: bounded memory per call.
SPOOL_MEMORY_BYTES = 1024 * 1024


def _storage_errors() -> tuple[type[BaseException], ...]:
    import botocore.exceptions

    return (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def answer_prefix(job_id) -> str:
    return f"answers/{job_id}/"


def answer_keep(job, token, result: ProviderResult) -> ProviderAnswer:
    """Keep a provider's answer: its base64 images go to storage as received, the row with
    their keys is written after them. When storage is down the base64 stays inline in the
    row instead: the answer is kept first, whatever else is down."""
    items: list[dict] = []
    keys: list[str] = []
    for index, item in enumerate(result.items):
        raw = item.get("b64_json")
        key = ""
        if raw:
            try:
                key = default_storage.save(
                    f"{answer_prefix(job.id)}{index}.b64",
                    ContentFile(raw.encode("ascii") if isinstance(raw, str) else raw),
                )
            except _storage_errors() + (UnicodeError,) as exc:
                logger.warning("job %s: answer kept inline, storage write failed: %s", job.id, exc)
                observability.storage_error(operation="write")
        items.append({**item, "b64_json": None} if key else item)
        keys.append(key)
    with transaction.atomic():
        answer = ProviderAnswer.objects.create(
            job=job, items=items, item_keys=keys, usage=result.usage, text=result.text
        )
        _held(job, token).update(usage=result.usage, response_text=result.text)
    return answer


def _key(answer: ProviderAnswer, index: int) -> str:
    keys = answer.item_keys or []
    return keys[index] if index < len(keys) else ""


def answer_missing(answer: ProviderAnswer) -> list[int]:
    """Indexes of images the answer links to but does not yet hold (not yet downloaded)."""
    return [
        index
        for index, item in enumerate(answer.items)
        if not _key(answer, index) and not item.get("b64_json") and item.get("url")
    ]


def answer_fetch(job, answer: ProviderAnswer) -> None:
    """Download every image the answer only links to, straight into storage (I/O stage).

    Raises ProviderError or InvalidImage from the fetcher, StorageUnavailable when the
    body cannot be written. Each key is recorded as soon as its image is kept.
    """
    missing = answer_missing(answer)
    if not missing:
        return
    connection = connection_named(job.connection)
    allowed = connection.allowed_networks if connection is not None else ()
    for index in missing:
        release_db()  # no connection is held while the download runs
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            guarded_fetch_into(
                answer.items[index]["url"],
                spool,
                allowed_networks=allowed,
                timeout=settings.ATELIER_DOWNLOAD_TIMEOUT,
                max_bytes=settings.ATELIER_MAX_IMAGE_BYTES,
            )
            spool.seek(0)
            try:
                key = default_storage.save(f"{answer_prefix(job.id)}{index}.bin", File(spool))
            except _storage_errors() as exc:
                logger.warning("job %s storage write failed: %s", job.id, exc)
                observability.storage_error(operation="write")
                raise StorageUnavailable(str(exc)) from exc
        keys = list(answer.item_keys or [])
        keys += [""] * (len(answer.items) - len(keys))
        keys[index] = key
        answer.item_keys = keys
        answer.save(update_fields=["item_keys"])


def answer_item_bytes(answer: ProviderAnswer, index: int) -> bytes:
    """One image's bytes, decoded (CPU stage). Raises InvalidImage for corrupt base64 or an
    answer that holds no image, StorageUnavailable when storage cannot be read."""
    item = answer.items[index]
    key = _key(answer, index)
    if key:
        try:
            data = storage_read(default_storage, key)
        except FileNotFoundError:
            raise InvalidImage("The kept answer's image is missing from storage.") from None
        except _storage_errors() as exc:
            observability.storage_error(operation="read")
            raise StorageUnavailable(str(exc)) from exc
        return _b64decode(data) if key.endswith(".b64") else data
    if item.get("b64_json"):
        return _b64decode(item["b64_json"])
    raise InvalidImage("The answer held neither image data nor a link.")


def _b64decode(raw: str | bytes) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("Its base64 data is corrupt.") from None


def answer_objects_delete(job, answer: ProviderAnswer | None = None) -> None:
    """Drop the kept answer's objects once its images are stored (or proved not images); a
    leftover costs little. Its keys are known; only streamed previews need a listing."""
    answer = answer or ProviderAnswer.objects.filter(job_id=job.id).first()
    keys = [key for key in (answer.item_keys if answer is not None else []) if key]
    try:
        if job.params.get("partial_images"):
            prefix = answer_prefix(job.id)
            _dirs, files = default_storage.listdir(prefix.rstrip("/"))
            keys += [f"{prefix}{name}" for name in files if name.startswith("partial-")]
        for key in keys:
            default_storage.delete(key)
    except Exception as exc:  # noqa: BLE001 - storage backends raise a variety
        logger.info("job %s kept answer objects not deleted: %s", job.id, exc)
