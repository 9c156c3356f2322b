"""Midjourney: submit once, then poll without holding a worker; buttons and modals."""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import observability
from jobs.admission import admission_check
from jobs.connections import connection_for_model, connection_named
from jobs.models import GenerationJob, ProviderAnswer
from jobs.providers import ProviderError
from jobs.providers.base import JobInputs
from jobs.providers.errors import message_for
from jobs.providers.midjourney import MidjourneyClient, MidjourneyTask
from jobs.registry import Family, Kind, get_model
from jobs.services.create import _job_insert
from jobs.services.inputs import _inputs_or_outcome
from jobs.services.money import job_estimate_usd
from jobs.services.outcomes import provider_error_outcome
from jobs.services.state import (
    RunOutcome,
    _finish,
    _guarded,
    _send_refused,
)

logger = logging.getLogger(__name__)
Status = GenerationJob.Status


# -- Midjourney: submit once, then poll without holding a worker -------------------------


def _midjourney_submit(client: MidjourneyClient, job, inputs: JobInputs | None) -> str:
    images = inputs.images if inputs else []
    if job.kind == GenerationJob.Kind.ACTION:
        result = client.action(task_id=job.params["task_id"], custom_id=job.params["custom_id"])
    elif job.kind == Kind.BLEND:
        result = client.blend(images=images)
    elif job.kind == Kind.DESCRIBE:
        result = client.describe(image=images[0])
    else:
        result = client.imagine(prompt=job.prompt, images=images)
    return result.task_id


def _midjourney_wait(job, token, *, progress: str) -> RunOutcome:
    """Come back later: the lease runs out when the next poll is due, so that poll (or the
    reaper, if the message is lost) can claim the job again."""
    # Back off with the task's age: a task running for minutes is polled every few seconds.
    elapsed = (timezone.now() - job.provider_request_sent_at).total_seconds()
    ceiling = min(
        settings.ATELIER_MIDJOURNEY_POLL_MAX_SECONDS,
        max(settings.ATELIER_MIDJOURNEY_POLL_SECONDS, elapsed / 4),
    )
    delay = round(random.uniform(ceiling * 0.8, ceiling), 2)
    now = timezone.now()
    _guarded(job, token).update(
        progress=progress[:64],
        lease_expires_at=now + dt.timedelta(seconds=delay),
        updated_at=now,
    )
    return RunOutcome(retry_in=delay)


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
        # A task already submitted is never submitted again: without its id we cannot
        # know whether it exists, so the outcome is unknown.
        refused = _send_refused(job, token)
        if refused is not None:
            return refused
        inputs = _inputs_or_outcome(job, token)
        if isinstance(inputs, RunOutcome):
            return inputs
        sent_at = timezone.now()
        if _guarded(job, token).update(provider_request_sent_at=sent_at) != 1:
            return RunOutcome()
        job.provider_request_sent_at = sent_at
        try:
            with observability.provider_request(job):
                task_id = _midjourney_submit(client, job, inputs)
        except ProviderError as exc:
            return provider_error_outcome(job, token, exc)
        if _guarded(job, token).update(provider_task_id=task_id, error_code="") != 1:
            return RunOutcome()
        job.provider_task_id = task_id
        return _midjourney_wait(job, token, progress="Submitted")

    # A poll is not a provider attempt: attempts keep counting submits and storage retries.
    if _guarded(job, token).update(attempts=F("attempts") - 1) != 1:
        return RunOutcome()
    job.attempts -= 1
    deadline = job.provider_request_sent_at + dt.timedelta(
        seconds=settings.ATELIER_MIDJOURNEY_TIMEOUT
    )
    try:
        with observability.provider_request(job):
            task = client.fetch(job.provider_task_id)
    except ProviderError as exc:
        if (exc.retryable or exc.code == "timeout_unknown_outcome") and (timezone.now() < deadline):
            return _midjourney_wait(job, token, progress=job.progress or "Waiting for Midjourney")
        if exc.retryable:
            task = None
        else:
            lost = exc.code == "mj_task_lost"
            _finish(job, token, Status.UNKNOWN if lost else Status.FAILED, code=exc.code)
            return RunOutcome()

    if task is not None and task.status == "SUCCESS":
        return _midjourney_keep_answer(job, token, task)
    if task is not None and task.status in ("FAILURE", "CANCEL"):
        error = ProviderError("mj_task_failed", detail=task.fail_reason or task.status.lower())
        _finish(job, token, Status.FAILED, code=error.code, message=error.message)
        return RunOutcome()
    # A task that could not be fetched is only left when the deadline has passed (above).
    if timezone.now() >= deadline or task is None:
        try:
            client.cancel(job.provider_task_id)
        except ProviderError as exc:
            logger.info("job %s midjourney cancel failed: %s", job.id, exc.code)
        _finish(job, token, Status.FAILED, code="mj_timeout")
        return RunOutcome()
    if task.status == "MODAL":
        return _midjourney_confirm(job, token, client)
    return _midjourney_wait(job, token, progress=task.progress or task.status.title())


def _midjourney_confirm(job, token, client: MidjourneyClient) -> RunOutcome:
    """Some buttons (Custom Zoom, Vary (Region)) open a modal: the action answers code 21
    and its task waits, status MODAL, until /mj/submit/modal confirms it with a prompt.
    The confirmation is marked sent before it is sent, so it is never sent twice."""
    if job.provider_modal_sent_at is not None:
        # Sent by an earlier poll (or its outcome is unknown): the task will move on, or
        # stay put until the deadline cancels it.
        return _midjourney_wait(job, token, progress="Confirming")
    if _guarded(job, token).update(provider_modal_sent_at=timezone.now()) != 1:
        return RunOutcome()
    try:
        result = client.modal(task_id=job.provider_task_id, prompt=job.prompt)
    except ProviderError as exc:
        logger.info("job %s midjourney modal error %s (%s)", job.id, exc.code, exc.detail)
        if exc.code == "timeout_unknown_outcome":
            return _midjourney_wait(job, token, progress="Confirming")
        if exc.retryable:
            # Not accepted: the next poll, still within the deadline, confirms again.
            if _guarded(job, token).update(provider_modal_sent_at=None) != 1:
                return RunOutcome()
            return _midjourney_wait(job, token, progress="Waiting to confirm")
        _finish(job, token, Status.FAILED, code=exc.code, message=exc.message)
        return RunOutcome()
    if result.task_id != job.provider_task_id:
        # Some proxies carry on under a new id; the waiting one never moves again.
        if _guarded(job, token).update(provider_task_id=result.task_id) != 1:
            return RunOutcome()
        job.provider_task_id = result.task_id
    return _midjourney_wait(job, token, progress="Confirmed")


def _midjourney_keep_answer(job, token, task: MidjourneyTask) -> ProviderAnswer | RunOutcome:
    if job.kind == Kind.DESCRIBE:
        # The task's image is the one we uploaded; the answer is the suggested prompts.
        items, text = [], task.final_prompt or task.prompt
        if not text:
            _finish(
                job,
                token,
                Status.FAILED,
                code="no_images",
                message="Midjourney described the image without any words.",
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


def job_create_midjourney_action(*, user, job: GenerationJob, custom_id: str) -> GenerationJob:
    """A follow-up on a finished Midjourney task: one of its buttons (U1, V2, reroll …)."""
    if job.provider != Family.MIDJOURNEY or not job.provider_task_id:
        raise ValidationError({"job": ["Only Midjourney images have buttons."]})
    if job.status != Status.SUCCEEDED:
        raise ValidationError({"job": ["The Midjourney task has not finished yet."]})
    button = next((b for b in job.provider_actions if b.get("custom_id") == custom_id), None)
    if button is None:
        raise ValidationError({"custom_id": [message_for("mj_no_actions")]})
    spec = get_model(job.model)
    connection = connection_named(job.connection) or connection_for_model(spec)
    if connection is None:
        raise ValidationError(
            {"model": [f"No provider connection serves {spec.label}. Pick another model."]}
        )
    admission_check(
        user=user, prompt=job.prompt, spec=spec, cost=job_estimate_usd(spec, {}) or Decimal("0")
    )
    return _job_insert(
        owner=user,
        kind=GenerationJob.Kind.ACTION,
        provider=spec.family.value,
        connection=connection.name,
        model=spec.name,
        prompt=job.prompt,
        params={
            "task_id": job.provider_task_id,
            "custom_id": custom_id,
            "label": button.get("label") or button.get("emoji") or "",
        },
        parent=job,
    )
