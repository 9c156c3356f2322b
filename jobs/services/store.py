"""The CPU stage: decode, verify, thumbnail and store a kept answer's images, then settle.

It runs on the CPU queue (a prefork worker with a few processes), claimed after the I/O
stage handed the job off; it never calls a provider. A job whose answer still links to
images it does not hold goes back to the I/O stage to download them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Count, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from gallery.imaging import InvalidImage, image_accept
from gallery.models import Image
from gallery.services import image_store
from gallery.storage import storage_read
from jobs import observability
from jobs.connections import Connection
from jobs.models import CANCELLED_KEPT, GenerationJob, ProviderAnswer
from jobs.providers import ProviderError
from jobs.providers.fetch import guarded_fetch
from jobs.services.answers import (
    _b64decode,
    answer_item_bytes,
    answer_missing,
    answer_objects_delete,
    answer_prefix,
)
from jobs.services.money import job_cost_usd
from jobs.services.outcomes import kept_answer_error_outcome
from jobs.services.state import (
    CANCELLED_KEPT_MESSAGE,
    RunOutcome,
    StorageUnavailable,
    _cancelled_under,
    _claim_store,
    _finish,
    _guarded,
)

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


def job_store(*, job_id) -> RunOutcome:
    """The CPU stage of one attempt. Idempotent: a job already claimed, stored or gone is
    left alone; images stored by an earlier attempt are not stored again."""
    from jobs.services.run import _attempt

    token = _claim_store(job_id)
    if token is None:
        return RunOutcome()
    # The claim needs a kept answer, so it comes with the job in one query.
    job = GenerationJob.objects.select_related("answer").get(id=job_id)
    return _attempt(job, token, _store_claimed)


def _store_claimed(job, token) -> RunOutcome:
    answer = job.answer
    if job.attempts > settings.ATELIER_STORAGE_MAX_ATTEMPTS:
        _finish(job, token, Status.FAILED, code="too_many_attempts")
        return RunOutcome()
    if answer_missing(answer):
        # An answer kept before its links were downloaded: downloading is I/O work.
        if _guarded(job, token).update(
            status=Status.QUEUED, lease_expires_at=None, updated_at=timezone.now()
        ):
            return RunOutcome(retry_in=0.0)
        return RunOutcome()
    try:
        _store_images(job, token, answer)
    except (ProviderError, StorageUnavailable, InvalidImage) as exc:
        return kept_answer_error_outcome(job, token, answer, exc)
    # Every image has its row, so a run after a crash here stores nothing from the answer:
    # its objects and the previews go before the job is settled, never left behind a
    # succeeded job.
    answer_objects_delete(job, answer)
    _partials_delete(job)
    _settle(job, token, answer)
    return RunOutcome()


def _settle(job, token, answer: ProviderAnswer) -> None:
    now = timezone.now()
    settled = dict(
        # The provider bills every image it made; quotas count the images stored.
        cost_usd=job_cost_usd(job, images=len(answer.items)),
        # Counted by the UPDATE itself: what the card says is what the gallery holds.
        images_stored=Coalesce(
            Subquery(
                Image.objects.filter(job_id=job.id)
                .order_by()
                .values("job_id")
                .annotate(count=Count("id"))
                .values("count")
            ),
            0,
        ),
        # The final images replace the streamed preview.
        partial_image_key="",
        progress="",
        lease_expires_at=None,
        updated_at=now,
    )
    succeeded = _guarded(job, token).update(
        status=Status.SUCCEEDED, error_code="", error_message="", finished_at=now, **settled
    )
    if succeeded == 1:
        observability.job_transition(job, status=Status.SUCCEEDED, previous=Status.RUNNING)
    kept = succeeded != 1 and _cancelled_under(job, token).update(
        # Cancelled while the provider was making it: the images are paid for, so kept.
        error_code=CANCELLED_KEPT,
        error_message=CANCELLED_KEPT_MESSAGE,
        **settled,
    )
    if kept:
        # The log agrees with the card: the cancelled job's images and cost were kept.
        observability.job_transition(
            job, status=Status.CANCELLED, code=CANCELLED_KEPT, previous=Status.CANCELLED
        )
    if succeeded == 1 or kept:
        _trim_answer(answer)


def _store_images(job, token, answer: ProviderAnswer) -> None:
    import botocore.exceptions

    stored = set(Image.objects.filter(job=job).order_by().values_list("index", flat=True))
    for index, item in enumerate(answer.items):
        if index in stored:
            continue  # written by an earlier attempt; its row exists only after its objects
        data = answer_item_bytes(answer, index)
        try:
            image_store(
                job=job, index=index, data=data, revised_prompt=item.get("revised_prompt") or ""
            )
        except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            logger.warning("job %s storage write failed: %s", job.id, exc)
            observability.storage_error(operation="write")
            raise StorageUnavailable(str(exc)) from exc
        if index + 1 < len(answer.items):  # after the last one, the job is settled at once
            _guarded(job, token).update(
                progress=f"Saved {index + 1} of {len(answer.items)}", updated_at=timezone.now()
            )


def download_image(url: str, *, connection: Connection | None) -> bytes:
    """Every provider link, of every family, goes through the one guarded fetcher."""
    return guarded_fetch(
        url,
        allowed_networks=connection.allowed_networks if connection is not None else (),
        timeout=settings.ATELIER_DOWNLOAD_TIMEOUT,
        max_bytes=settings.ATELIER_MAX_IMAGE_BYTES,
    )


def _trim_answer(answer: ProviderAnswer) -> None:
    """Drop inline image bytes (rows kept before keys, or while storage was down) from the
    kept answer once they are safely in storage."""
    if not any(item.get("b64_json") for item in answer.items):
        return
    answer.items = [
        {**item, "b64_json": None, "b64_bytes_trimmed": bool(item.get("b64_json"))}
        for item in answer.items
    ]
    answer.save(update_fields=["items"])


# -- partial images (previews) ----------------------------------------------------------


def partial_key(job_id, index: int) -> str:
    return f"{answer_prefix(job_id)}partial-{index}.b64"


def job_partial_store(*, job_id, index: int) -> None:
    """Publish a streamed preview the I/O stage kept raw: decode, verify, store it as it is
    (previews are shown at their own size, not thumbnailed), point the card at it. A preview
    that cannot be kept is simply skipped; one that arrives after the job ended is not shown."""
    import botocore.exceptions

    errors = (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
    running = GenerationJob.objects.filter(id=job_id, status=Status.RUNNING, answer__isnull=True)
    if not running.exists():
        return
    try:
        data, info = image_accept(
            _b64decode(storage_read(default_storage, partial_key(job_id, index)))
        )
    except InvalidImage as exc:
        logger.info("job %s partial image %d unusable: %s", job_id, index, exc)
        return
    except errors as exc:
        logger.info("job %s partial image %d not read: %s", job_id, index, exc)
        return
    key = f"partials/{job_id}/{index}.{info.extension}"
    try:
        default_storage.save(key, ContentFile(data))
    except errors as exc:
        logger.info("job %s partial image %d not stored: %s", job_id, index, exc)
        return
    running.update(partial_image_key=key, updated_at=timezone.now())


def _partials_delete(job) -> None:
    if not job.params.get("partial_images") and not job.partial_image_key:
        return  # no preview was asked for, so none was stored
    try:
        _dirs, files = default_storage.listdir(f"partials/{job.id}")
        for name in files:
            default_storage.delete(f"partials/{job.id}/{name}")
    except Exception as exc:  # previews are disposable; a leftover costs nothing
        logger.info("job %s partial images not deleted: %s", job.id, exc)
