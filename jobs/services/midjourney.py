"""Midjourney: submit once, then follow the task by callbacks and polls; buttons and modals.

A task's news arrives two ways: the proxy's callback (``midjourney_callback``, when
``ATELIER_PUBLIC_URL`` is set) and a poll (``_midjourney_step``, which fetches every due
task of the connection in one request). Both hand it to ``midjourney_task_observed``,
which moves the job through the same guarded transitions. Between observations a job is
*parked*: running, with no claim token, its lease running out when the next poll is due.
A callback claims a parked job at once; a poll claims it when its lease runs out; a
callback that finds the job held leaves its news in ``provider_task_state`` for the holder,
which reads it as it parks.
"""

from __future__ import annotations

import datetime as dt
import hmac
import io
import logging
import random
import re
import secrets
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from gallery.imaging import InvalidImage, image_accept
from jobs import observability
from jobs.admission import admission_check
from jobs.connections import Connection, connection_for_model, connection_named
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers import ProviderError
from jobs.providers.base import InputFile, JobInputs
from jobs.providers.errors import message_for
from jobs.providers.midjourney import (
    INPAINT_PREFIX,
    WAITING,
    Hook,
    MidjourneyClient,
    MidjourneyTask,
    SubmitResult,
    opens_modal,
)
from jobs.registry import Family, Kind, get_model
from jobs.services.create import _job_insert, job_enqueue
from jobs.services.inputs import InputUnavailable, _inputs_or_outcome, _read_input
from jobs.services.money import job_estimate_usd
from jobs.services.outcomes import PollDecision, poll_error_decision, provider_error_outcome
from jobs.services.state import (
    RunOutcome,
    StorageUnavailable,
    _finish,
    _guarded,
    _send_refused,
    release_db,
)

logger = logging.getLogger(__name__)
Status = GenerationJob.Status
JobKind = GenerationJob.Kind

# Shown on the card while the task waits at the proxy (translated when shown).
MJ_WAITING = gettext_noop("Waiting at Midjourney")
MJ_QUEUE_POSITION = gettext_noop("Waiting at Midjourney: number %(position)s in its queue")
# Most tasks one list-by-condition request asks about.
POLL_BATCH = 50
# Proxies without a queue endpoint (base URLs), so that it is not asked again in this process.
_NO_QUEUE: set[str] = set()


# -- Midjourney: submit once, then follow the task ---------------------------------------


def _hook(job) -> Hook | None:
    """The callback for this job's task: a path secret (the proxy does not sign its
    callbacks) and the job's id as ``state``, which the proxy echoes back."""
    if not settings.ATELIER_PUBLIC_URL or not job.provider_callback_secret:
        return None
    path = reverse("jobs:midjourney_hook", args=[job.id, job.provider_callback_secret])
    return Hook(url=f"{settings.ATELIER_PUBLIC_URL}{path}", state=str(job.id))


def _callbacks_on(job) -> bool:
    return bool(settings.ATELIER_PUBLIC_URL and job.provider_callback_secret)


def _midjourney_submit(client: MidjourneyClient, job, inputs: JobInputs | None) -> SubmitResult:
    images = inputs.images if inputs else []
    hook = _hook(job)
    if job.kind == JobKind.ACTION:
        return client.action(
            task_id=job.params["task_id"], custom_id=job.params["custom_id"], hook=hook
        )
    if job.kind == Kind.BLEND:
        return client.blend(images=images, hook=hook)
    if job.kind == Kind.DESCRIBE:
        return client.describe(image=images[0], hook=hook)
    if job.kind == JobKind.SHORTEN:
        return client.shorten(prompt=job.prompt, hook=hook)
    if job.kind == JobKind.SWAP_FACE:
        return client.swap_face(source=images[0], target=images[1], hook=hook)
    return client.imagine(prompt=job.prompt, images=images, hook=hook)


def _waiting_words(position: int | None) -> str:
    return MJ_QUEUE_POSITION % {"position": position} if position else MJ_WAITING


def _midjourney_wait(job, token, *, progress: str) -> RunOutcome:
    """Park the job until the next poll is due (its lease runs out then, so that poll, or
    the reaper if the message is lost, can claim it again; a callback claims it sooner)."""
    if _callbacks_on(job):
        # Callbacks say when the task moves; polls only catch the ones that never arrive.
        ceiling = float(settings.ATELIER_MIDJOURNEY_CALLBACK_POLL_SECONDS)
    else:
        # Back off with the task's age: a task running for minutes is polled every few seconds.
        elapsed = (timezone.now() - job.provider_request_sent_at).total_seconds()
        ceiling = min(
            settings.ATELIER_MIDJOURNEY_POLL_MAX_SECONDS,
            max(settings.ATELIER_MIDJOURNEY_POLL_SECONDS, elapsed / 4),
        )
    delay = round(random.uniform(ceiling * 0.8, ceiling), 2)
    now = timezone.now()
    parked = _guarded(job, token).update(
        progress=progress[:64],
        claim_token=None,
        lease_expires_at=now + dt.timedelta(seconds=delay),
        updated_at=now,
    )
    if parked != 1:
        return RunOutcome()
    # A callback that came while this attempt held the job could not claim it: its news is
    # taken now rather than at the next poll.
    stored = (
        GenerationJob.objects.filter(id=job.id)
        .values_list("provider_task_state", "provider_modal_sent_at")
        .first()
    )
    state, modal_sent_at = stored if stored else ({}, None)
    task = MidjourneyTask.from_dict(state)
    if (
        task is not None
        and task.id == job.provider_task_id
        and (task.finished or (task.status == "MODAL" and modal_sent_at is None))
    ):
        due = GenerationJob.objects.filter(
            id=job.id, status=Status.RUNNING, claim_token__isnull=True
        ).update(lease_expires_at=now)
        if due == 1:
            return RunOutcome(retry_in=0.0)
    return RunOutcome(retry_in=delay)


def _hand_over(job, token) -> None:
    """Leave the job to a worker run at once (to store a kept answer, or confirm a modal):
    parked and due now, with a message to say so."""
    now = timezone.now()
    # The run that takes over claims it again: that is not a new attempt.
    handed = _guarded(job, token).update(
        claim_token=None, lease_expires_at=now, updated_at=now, attempts=F("attempts") - 1
    )
    if handed == 1:
        job_id = job.id
        transaction.on_commit(lambda: job_enqueue(job_id=job_id))


def _claim_parked(job_id) -> uuid.UUID | None:
    """Claim a parked job (running, unclaimed, its answer not yet kept), due or not."""
    now = timezone.now()
    token = uuid.uuid4()
    parked = GenerationJob.objects.filter(
        id=job_id, status=Status.RUNNING, claim_token__isnull=True, answer__isnull=True
    )
    updated = parked.update(
        claim_token=token,
        lease_expires_at=now + dt.timedelta(seconds=settings.ATELIER_JOB_LEASE_SECONDS),
        updated_at=now,
    )
    return token if updated == 1 else None


def _state_record(job, task: MidjourneyTask) -> MidjourneyTask:
    """Keep ``task`` as the newest state seen of the job's task, unless a newer one is
    already kept (a callback or poll that arrived late); returns the newest."""
    with transaction.atomic():
        row = (
            GenerationJob.objects.select_for_update()
            .only("provider_task_state")
            .filter(id=job.id)
            .first()
        )
        known = MidjourneyTask.from_dict(row.provider_task_state) if row else None
        if known is not None and known.id == task.id and known.order > task.order:
            return known
        GenerationJob.objects.filter(id=job.id).update(provider_task_state=task.as_dict())
    job.provider_task_state = task.as_dict()
    return task


class _Queue:
    """The proxy's queue, asked at most once per poll and only when a task waits in it."""

    def __init__(self, client: MidjourneyClient):
        self.client = client
        self._ids: list[str] | None = None
        self._asked = False

    def position(self, task_id: str) -> int | None:
        if not self._asked and self.client.base_url not in _NO_QUEUE:
            self._asked = True
            try:
                self._ids = self.client.queue()
            except ProviderError as exc:
                logger.info("midjourney queue not read: %s", exc.code)
            if self._ids is None:
                _NO_QUEUE.add(self.client.base_url)
        if self._ids and task_id in self._ids:
            return self._ids.index(task_id) + 1
        return None


def midjourney_task_observed(
    job, token, task: MidjourneyTask, *, client: MidjourneyClient | None = None, queue=None
) -> ProviderAnswer | RunOutcome:
    """What a poll or a callback saw of the job's task, applied under the claim ``token``.

    Idempotent: a state seen twice, or one older than a state already seen, moves nothing
    on. Without a ``client`` (a callback, in a web request) nothing is sent to the proxy
    that can wait for a worker: a modal is left to a worker run to confirm.
    """
    task = _state_record(job, task)
    if task.status == "SUCCESS":
        return _midjourney_keep_answer(job, token, task)
    if task.status in ("FAILURE", "CANCEL"):
        error = ProviderError("mj_task_failed", detail=task.fail_reason or task.status.lower())
        _finish(job, token, Status.FAILED, code=error.code, message=error.message)
        return RunOutcome()
    deadline = job.provider_request_sent_at + dt.timedelta(
        seconds=settings.ATELIER_MIDJOURNEY_TIMEOUT
    )
    if timezone.now() >= deadline:
        _midjourney_give_up(job, token, client)
        return RunOutcome()
    if task.status == "MODAL":
        if client is None:
            _hand_over(job, token)
            return RunOutcome()
        return _midjourney_confirm(job, token, client)
    if task.status in WAITING:
        position = queue.position(task.id) if queue is not None else None
        return _midjourney_wait(job, token, progress=_waiting_words(position))
    return _midjourney_wait(job, token, progress=task.progress or task.status.title())


def _midjourney_give_up(job, token, client: MidjourneyClient | None) -> None:
    connection = connection_named(job.connection)
    if client is None and connection is not None:
        client = MidjourneyClient(connection)
    if client is not None:
        try:
            client.cancel(job.provider_task_id, timeout=10.0)
        except ProviderError as exc:
            logger.info("job %s midjourney cancel failed: %s", job.id, exc.code)
    _finish(job, token, Status.FAILED, code="mj_timeout")


def _midjourney_step(job, token) -> ProviderAnswer | RunOutcome:
    spec = get_model(job.model)
    connection = connection_named(job.connection)
    if connection is None or spec.name not in connection.models:
        _finish(job, token, Status.FAILED, code="no_connection")
        return RunOutcome()
    if connection.key_problem:
        # A key we cannot read, or one meant for another host, is never replaced by "".
        _finish(job, token, Status.FAILED, code=connection.key_problem)
        return RunOutcome()
    client = MidjourneyClient(connection)
    if not job.provider_task_id:
        return _midjourney_send(job, token, client)

    # A poll is not a provider attempt: attempts keep counting submits and storage retries.
    if _guarded(job, token).update(attempts=F("attempts") - 1) != 1:
        return RunOutcome()
    job.attempts -= 1
    queue = _Queue(client)
    known = MidjourneyTask.from_dict(job.provider_task_state)
    if known is not None and known.id == job.provider_task_id and known.finished:
        # A callback said how it ended while the job was held: nothing to ask.
        return midjourney_task_observed(job, token, known, client=client, queue=queue)
    deadline = job.provider_request_sent_at + dt.timedelta(
        seconds=settings.ATELIER_MIDJOURNEY_TIMEOUT
    )
    siblings = _siblings_claim(job, connection)
    release_db()  # a poll's wait holds no database connection
    try:
        with observability.provider_request(job):
            if siblings:
                ids = [job.provider_task_id] + [s.provider_task_id for s, _ in siblings]
                seen = {t.id: t for t in client.list_by_condition(ids)}
                task = seen.get(job.provider_task_id) or client.fetch(job.provider_task_id)
            else:
                seen = {}
                task = client.fetch(job.provider_task_id)
    except ProviderError as exc:
        _siblings_observe(siblings, seen={}, client=client, queue=queue)
        decision = poll_error_decision(exc, past_deadline=timezone.now() >= deadline)
        if decision is PollDecision.WAIT:
            return _midjourney_wait(
                job, token, progress=job.progress or gettext_noop("Waiting for Midjourney")
            )
        if decision is PollDecision.GIVE_UP:
            _midjourney_give_up(job, token, client)
        else:
            status = Status.UNKNOWN if decision is PollDecision.UNKNOWN else Status.FAILED
            _finish(job, token, status, code=exc.code)
        return RunOutcome()
    _siblings_observe(siblings, seen=seen, client=client, queue=queue)
    return midjourney_task_observed(job, token, task, client=client, queue=queue)


def _midjourney_send(job, token, client: MidjourneyClient) -> RunOutcome:
    # A task already submitted is never submitted again: without its id we cannot know
    # whether it exists, so the outcome is unknown.
    refused = _send_refused(job, token)
    if refused is not None:
        return refused
    inputs = _inputs_or_outcome(job, token)
    if isinstance(inputs, RunOutcome):
        return inputs
    sent_at = timezone.now()
    fields: dict = {"provider_request_sent_at": sent_at}
    if settings.ATELIER_PUBLIC_URL and not job.provider_callback_secret:
        fields["provider_callback_secret"] = secrets.token_urlsafe(24)
    if _guarded(job, token).update(**fields) != 1:
        return RunOutcome()
    for name, value in fields.items():
        setattr(job, name, value)
    release_db()  # nor does the submit's
    try:
        with observability.provider_request(job):
            result = _midjourney_submit(client, job, inputs)
    except ProviderError as exc:
        return provider_error_outcome(job, token, exc)
    # A callback may have recorded this id already: it can overtake the submit's answer.
    if _guarded(job, token).update(provider_task_id=result.task_id, error_code="") != 1:
        return RunOutcome()
    job.provider_task_id = result.task_id
    position = result.queue_position
    progress = _waiting_words(position) if position else gettext_noop("Submitted")
    return _midjourney_wait(job, token, progress=progress)


# -- many tasks in one poll ----------------------------------------------------------------


def _siblings_claim(job, connection: Connection) -> list[tuple[GenerationJob, uuid.UUID]]:
    """Parked jobs of the same connection whose poll is due now or within the first poll
    interval: polled with this one, in one list-by-condition request."""
    window = timezone.now() + dt.timedelta(seconds=settings.ATELIER_MIDJOURNEY_POLL_SECONDS)
    due = (
        GenerationJob.objects.filter(
            provider=Family.MIDJOURNEY.value,
            connection=connection.name,
            status=Status.RUNNING,
            claim_token__isnull=True,
            lease_expires_at__lt=window,
            answer__isnull=True,
        )
        .exclude(provider_task_id="")
        .exclude(id=job.id)
        .order_by("lease_expires_at")[: POLL_BATCH - 1]
    )
    claimed = []
    for sibling in due:
        token = _claim_parked(sibling.id)
        if token is not None:
            sibling.claim_token = token
            claimed.append((sibling, token))
    return claimed


def _siblings_observe(siblings, *, seen: dict, client: MidjourneyClient, queue) -> None:
    """Apply what one poll saw of each sibling; one it did not see is left to its own poll."""
    for sibling, token in siblings:
        task = seen.get(sibling.provider_task_id)
        if task is None:
            _hand_over(sibling, token)
            continue
        outcome = midjourney_task_observed(sibling, token, task, client=client, queue=queue)
        _follow(sibling, token, outcome)


def _follow(job, token, outcome) -> None:
    """After an observation outside the job's own run: store a kept answer, or come back
    when the next poll is due."""
    if isinstance(outcome, ProviderAnswer):
        _hand_over(job, token)
    elif outcome.retry_in is not None:
        job_id, delay = job.id, outcome.retry_in
        transaction.on_commit(lambda: job_enqueue(job_id=job_id, countdown=delay))


# -- callbacks -------------------------------------------------------------------------


def midjourney_callback(*, job_id, secret: str, payload) -> bool:
    """The proxy's notifyHook POST for one job. False when the URL names no such callback
    (the view answers 404); True when it was taken, which includes changing nothing
    because the news is old, repeated, or about a job that has already ended."""
    job = GenerationJob.objects.filter(id=job_id, provider=Family.MIDJOURNEY.value).first()
    if job is None or not job.provider_callback_secret:
        return False
    if not hmac.compare_digest(job.provider_callback_secret.encode(), secret.encode()):
        return False
    try:
        task = MidjourneyTask.from_json(payload)
    except ProviderError:
        logger.info("job %s midjourney callback without a task", job.id)
        return True
    if job.is_finished or ProviderAnswer.objects.filter(job_id=job.id).exists():
        return True
    if not job.provider_task_id:
        # It overtook the submit's answer: the secret says the task is this job's.
        GenerationJob.objects.filter(id=job.id, provider_task_id="", status=Status.RUNNING).update(
            provider_task_id=task.id
        )
        job.refresh_from_db(fields=["provider_task_id"])
    if task.id != job.provider_task_id:
        logger.info("job %s midjourney callback for another task %s", job.id, task.id)
        return True
    _state_record(job, task)
    token = _claim_parked(job.id)
    if token is None:
        return True  # held by a run, which takes the news as it parks
    job.refresh_from_db()
    connection = connection_named(job.connection)
    if connection is None:
        _finish(job, token, Status.FAILED, code="no_connection")
        return True
    outcome = midjourney_task_observed(job, token, task)
    _follow(job, token, outcome)
    return True


def _midjourney_confirm(job, token, client: MidjourneyClient) -> RunOutcome:
    """Some buttons (Custom Zoom, Vary (Region)) open a modal: the action answers code 21
    and its task waits, status MODAL, until /mj/submit/modal confirms it with the prompt
    the person wrote (and for Vary (Region), the region they painted). The confirmation is
    marked sent before it is sent, so it is never sent twice."""
    if job.provider_modal_sent_at is not None:
        # Sent by an earlier poll (or its outcome is unknown): the task will move on, or
        # stay put until the deadline cancels it.
        return _midjourney_wait(job, token, progress=gettext_noop("Confirming"))
    try:
        mask = _region_mask(job)
    except StorageUnavailable:
        return _midjourney_wait(job, token, progress=gettext_noop("Waiting to confirm"))
    except InputUnavailable:
        _finish(job, token, Status.FAILED, code="input_unavailable")
        return RunOutcome()
    sent_at = timezone.now()
    if _guarded(job, token).update(provider_modal_sent_at=sent_at) != 1:
        return RunOutcome()
    job.provider_modal_sent_at = sent_at
    try:
        result = client.modal(
            task_id=job.provider_task_id, prompt=job.prompt, mask=mask, hook=_hook(job)
        )
    except ProviderError as exc:
        logger.info("job %s midjourney modal error %s (%s)", job.id, exc.code, exc.detail)
        if exc.code == "timeout_unknown_outcome":
            return _midjourney_wait(job, token, progress=gettext_noop("Confirming"))
        if exc.retryable:
            # Not accepted: the next poll, still within the deadline, confirms again.
            if _guarded(job, token).update(provider_modal_sent_at=None) != 1:
                return RunOutcome()
            job.provider_modal_sent_at = None
            return _midjourney_wait(job, token, progress=gettext_noop("Waiting to confirm"))
        _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
        return RunOutcome()
    if result.task_id != job.provider_task_id:
        # Some proxies carry on under a new id; the waiting one never moves again.
        if _guarded(job, token).update(provider_task_id=result.task_id) != 1:
            return RunOutcome()
        job.provider_task_id = result.task_id
    return _midjourney_wait(job, token, progress=gettext_noop("Confirmed"))


def _region_mask(job) -> InputFile | None:
    """Vary (Region)'s mask as the proxy takes it: the painted region white on black, the
    size of the upscaled image (Atelier's editor paints it transparent on opaque black)."""
    if not job.mask_key:
        return None
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(_read_input(job.mask_key))) as painted:
        alpha = painted.convert("RGBA").getchannel("A")
    region = alpha.point(lambda value: 255 if value < 128 else 0).convert("RGB")
    buffer = io.BytesIO()
    region.save(buffer, format="PNG")
    return InputFile(name="mask.png", data=buffer.getvalue(), content_type="image/png")


def _midjourney_keep_answer(job, token, task: MidjourneyTask) -> ProviderAnswer | RunOutcome:
    if job.kind in (Kind.DESCRIBE, JobKind.SHORTEN):
        # Describe's image is the one we uploaded, shorten has none: the answer is the
        # suggested prompts.
        items, text = [], task.final_prompt or task.description or task.prompt
        if not text:
            _finish(
                job,
                token,
                Status.FAILED,
                code="no_images",
                message=gettext_noop("Midjourney described the image without any words."),
            )
            return RunOutcome()
    else:
        items, text = ([{"url": task.image_url}] if task.image_url else []), ""
        if not items:
            _finish(job, token, Status.FAILED, code="no_images")
            return RunOutcome()
    with transaction.atomic():
        answer = ProviderAnswer.objects.create(job=job, items=items, text=text)
        _guarded(job, token).update(
            provider_actions=task.buttons, response_text=text, progress="100%"
        )
    return answer


def _midjourney_cancel_at_provider(job, *, timeout: float | None = None) -> None:
    """Tell Midjourney about a cancel made in Atelier, once: when it is made, or else at
    the next due poll."""
    if job.provider != Family.MIDJOURNEY:
        return
    claimed = GenerationJob.objects.filter(
        id=job.id, status=Status.CANCELLED, provider_task_id=job.provider_task_id
    ).exclude(error_code="cancelled_at_provider")
    if claimed.update(error_code="cancelled_at_provider") != 1:
        return
    connection = connection_named(job.connection)
    if connection is None:
        return
    try:
        MidjourneyClient(connection).cancel(job.provider_task_id, timeout=timeout)
    except ProviderError as exc:
        logger.warning("job %s midjourney cancel failed: %s", job.id, exc.code)
        # Let the next due poll try again.
        GenerationJob.objects.filter(id=job.id, error_code="cancelled_at_provider").update(
            error_code=""
        )


def job_create_midjourney_action(
    *,
    user,
    job: GenerationJob,
    custom_id: str,
    prompt: str | None = None,
    mask: bytes | None = None,
) -> GenerationJob:
    """A follow-up on a finished Midjourney task: one of its buttons (U1, V2, reroll …).

    A button that opens a modal (Custom Zoom, Vary (Region)) takes the ``prompt`` the
    person confirmed (the task's own when none is given); Vary (Region) also takes the
    painted ``mask``, the size of the image it varies.
    """
    if job.provider != Family.MIDJOURNEY or not job.provider_task_id:
        raise ValidationError({"job": [gettext("Only Midjourney images have buttons.")]})
    if job.status != Status.SUCCEEDED:
        raise ValidationError({"job": [gettext("The Midjourney task has not finished yet.")]})
    button = next((b for b in job.provider_actions if b.get("custom_id") == custom_id), None)
    if button is None:
        raise ValidationError({"custom_id": [message_for("mj_no_actions")]})
    spec = get_model(job.model)
    connection = connection_named(job.connection) or connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {
                "model": [
                    gettext("No provider connection serves %(model)s. Pick another model.")
                    % {"model": spec.label}
                ]
            }
        )
    sent_prompt = job.prompt
    errors: dict[str, list[str]] = {}
    if opens_modal(custom_id) and prompt is not None:
        sent_prompt = prompt.strip()
        if not sent_prompt:
            errors["prompt"] = [gettext("Write the prompt Midjourney should use.")]
        elif len(sent_prompt) > spec.prompt_max_chars:
            errors["prompt"] = [
                gettext("Midjourney accepts prompts of at most %(limit)s characters.")
                % {"limit": spec.prompt_max_chars}
            ]
    if custom_id.startswith(INPAINT_PREFIX):
        mask_error = _region_mask_error(job, mask)
        if mask_error:
            errors["mask"] = [mask_error]
    elif mask is not None:
        errors["mask"] = [gettext("Only Vary (Region) takes a painted region.")]
    if errors:
        raise ValidationError(errors)
    admission_check(
        user=user, prompt=sent_prompt, spec=spec, cost=job_estimate_usd(spec, {}) or Decimal("0")
    )
    job_id = uuid.uuid4()
    mask_key = ""
    if mask is not None:
        mask_key = f"inputs/{job_id}/mask.png"
        try:
            default_storage.save(mask_key, ContentFile(mask))
        except Exception as exc:  # botocore or OSError: say so instead of a 500
            logger.warning("storing a region mask failed: %s", exc)
            raise ValidationError(
                {"mask": [gettext("Atelier could not store the region right now; try again.")]}
            ) from exc
    return _job_insert(
        id=job_id,
        owner=user,
        kind=GenerationJob.Kind.ACTION,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=sent_prompt,
        params={
            "task_id": job.provider_task_id,
            "custom_id": custom_id,
            "label": button.get("label") or button.get("emoji") or "",
        },
        parent=job,
        mask_key=mask_key,
    )


def _region_mask_error(job, mask: bytes | None) -> str:
    """Why a painted region cannot go to Vary (Region), or "" when it can: a PNG the size
    of the image it varies, with something painted."""
    if mask is None:
        return gettext("Paint the region to vary first.")
    from PIL import Image as PILImage

    image = job.images.order_by("index").first()
    try:
        with PILImage.open(io.BytesIO(mask)) as picture:
            size = picture.size
            extrema: Any = picture.convert("RGBA").getchannel("A").getextrema()
            lowest_alpha = int(extrema[0])  # one band: (lowest, highest)
            is_png = picture.format == "PNG"
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a mask
        return gettext("The region must be a PNG image.")
    if not is_png:
        return gettext("The region must be a PNG image.")
    if image is not None and size != (image.width, image.height):
        return gettext(
            "The region is %(width)s×%(height)s; it must be the image's size, "
            "%(image_width)s×%(image_height)s."
        ) % {
            "width": size[0],
            "height": size[1],
            "image_width": image.width,
            "image_height": image.height,
        }
    if lowest_alpha >= 128:
        return gettext("Paint the region to vary first.")
    return ""


# -- shorten and seeds -------------------------------------------------------------------


def job_create_shorten(*, user, model_name: str, prompt: str) -> GenerationJob:
    """Midjourney's /shorten: shorter prompts suggested for ``prompt`` (a task of its own,
    kept like describe's suggestions, each one click from the prompt box)."""
    spec = get_model(model_name)
    if spec.family is not Family.MIDJOURNEY:
        raise ValidationError({"model": [gettext("Only Midjourney shortens prompts.")]})
    connection = connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {
                "model": [
                    gettext("No provider connection serves %(model)s. Pick another model.")
                    % {"model": spec.label}
                ]
            }
        )
    spec.clean(prompt=prompt, params={}, allow_retired=True)
    admission_check(user=user, prompt=prompt, spec=spec, images=0, cost=Decimal("0"))
    return _job_insert(
        owner=user,
        kind=JobKind.SHORTEN,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=prompt.strip(),
        params={},
    )


def midjourney_seed_fetch(*, job: GenerationJob) -> str:
    """The seed of a finished Midjourney image, fetched once and recorded on its job.

    Raises ``ProviderError`` (``mj_no_seed`` when the proxy cannot find it: it needs the
    account's DM channel configured on its side)."""
    if job.provider_seed:
        return job.provider_seed
    if job.provider != Family.MIDJOURNEY or job.status != Status.SUCCEEDED:
        raise ValidationError({"job": [gettext("Only finished Midjourney images have a seed.")]})
    connection = connection_named(job.connection)
    if connection is None:
        raise ProviderError("no_connection")
    seed = MidjourneyClient(connection).image_seed(job.provider_task_id)
    GenerationJob.objects.filter(id=job.id).update(provider_seed=seed[:32])
    job.provider_seed = seed[:32]
    return job.provider_seed


_SEED_FLAG = re.compile(r"(?:^|\s)--seed\s+\d+")


def prompt_with_seed(prompt: str, seed: str) -> str:
    """A Midjourney prompt that draws with ``seed`` again (its own --seed replaced)."""
    if not seed:
        return prompt
    return f"{_SEED_FLAG.sub('', prompt).strip()} --seed {seed}"


# -- InsightFace swap_face -------------------------------------------------------------

SWAP_FACE_OFF = gettext_noop(
    "Face swaps are off for this connection: they change a real person's face, so an "
    "administrator must turn them on for it first."
)


def job_create_swap_face(*, user, model_name: str, source: bytes, target: bytes) -> GenerationJob:
    """InsightFace through the proxy: the face in ``source`` put onto the person in
    ``target``, a job of its own kind. Both uploads are judged like every other upload;
    the connection must allow face swaps, and every such job is a moderation event."""
    from moderation.models import ModerationEvent

    spec = get_model(model_name)
    if spec.family is not Family.MIDJOURNEY:
        raise ValidationError(
            {"model": [gettext("%(model)s cannot swap faces.") % {"model": spec.label}]}
        )
    connection = connection_for_model(spec)
    if connection is None or not connection.swap_face:
        raise ValidationError({"model": [gettext(SWAP_FACE_OFF)]})
    images, infos = _swap_inputs_check(spec, {"source": source, "target": target})
    admission_check(
        user=user, prompt="", spec=spec, cost=job_estimate_usd(spec, {}) or Decimal("0")
    )
    job_id = uuid.uuid4()
    keys = [f"inputs/{job_id}/{i}.{info.extension}" for i, info in enumerate(infos)]
    try:
        for key, data in zip(keys, images, strict=True):
            default_storage.save(key, ContentFile(data))
    except Exception as exc:  # botocore or OSError: say so instead of a 500
        logger.warning("storing face swap inputs failed: %s", exc)
        raise ValidationError(
            {"images": [gettext("Atelier could not store the upload right now; try again.")]}
        ) from exc
    with transaction.atomic():
        job = _job_insert(
            id=job_id,
            owner=user,
            kind=JobKind.SWAP_FACE,
            provider=spec.family.value,
            connection=connection.name,
            model=spec.name,
            prompt="",
            params={},
            input_keys=keys,
        )
        # A real person's face is changed: staff can review every swap.
        ModerationEvent.objects.create(
            user=user,
            job=job,
            source=ModerationEvent.Source.PROVIDER,
            code="swap_face",
            detail="InsightFace face swap requested (source face, target image).",
        )
    return job


def _swap_inputs_check(spec, uploads: dict[str, bytes]) -> tuple[list[bytes], list]:
    """Each upload judged as any other is (``image_accept``), its error beside its own
    field; returns the bytes to keep (a multi-picture JPEG's first frame) and what they are."""
    errors: dict[str, list[str]] = {}
    images, infos = [], []
    for field, data in uploads.items():
        try:
            data, info = image_accept(
                data, allowed_formats=spec.input_formats, max_bytes=spec.max_input_bytes
            )
        except InvalidImage as exc:
            errors[field] = [
                gettext("%(problem)s %(model)s takes %(formats)s under %(megabytes)s MB.")
                % {
                    "problem": exc,
                    "model": spec.label,
                    "formats": " or ".join(spec.input_formats),
                    "megabytes": spec.max_input_bytes // 1_048_576,
                }
            ]
            continue
        images.append(data)
        infos.append(info)
    if errors:
        raise ValidationError(errors)
    return images, infos
