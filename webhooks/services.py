"""Writing side of webhooks: endpoints, events into deliveries, and one delivery attempt.

A delivery row is made in the same transaction that records the event and is enqueued
only after commit; the row, not the broker, says what is still owed. Attempts are claimed
with a conditional UPDATE and a lease, so a repeated or late task message sends nothing
twice, and the sweep (beat) re-enqueues what a lost message or a dead worker left due.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from api.models import JobOrigin
from gallery.models import Image
from jobs.models import GenerationJob
from jobs.providers import fetch
from teams.models import Membership
from webhooks import sealing
from webhooks.models import TEST_EVENT, Delivery, DeliveryAttempt, Endpoint, EventType

logger = logging.getLogger("atelier.webhooks")

EVENT_FOR_STATUS = {
    GenerationJob.Status.SUCCEEDED: EventType.JOB_SUCCEEDED,
    GenerationJob.Status.FAILED: EventType.JOB_FAILED,
    GenerationJob.Status.UNKNOWN: EventType.JOB_UNKNOWN,
    GenerationJob.Status.CANCELLED: EventType.JOB_CANCELLED,
}
# Countdowns this short ride on the broker; longer waits are left to the sweep, since Redis
# redelivers an unacknowledged ETA message after its visibility timeout.
BROKER_COUNTDOWN_MAX_SECONDS = 300
# Events of jobs that ended this recently are checked by the sweep for deliveries a crash
# between the job's UPDATE and ours never made.
SWEEP_WINDOW = dt.timedelta(hours=1)
GONE_REASON = "The receiver answered 410 Gone, so deliveries stopped."
OWNERS_ONLY = "Only the team's owners can manage its webhooks."
TEST_EVENTS_PER_MINUTE = 5
SECRET_UNREADABLE = "No configured ATELIER_WEBHOOK_KEY opens this endpoint's secret; nothing sent."
REQUEST_HEADERS = [("Content-Type", "application/json"), ("User-Agent", "Atelier-Webhooks/1")]
# The first bytes of a receiver's answer, kept for the delivery log.
RESPONSE_CAP_BYTES = 4096


# -- endpoints ----------------------------------------------------------------------


def _secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_secret(*, endpoint: Endpoint) -> str:
    """The endpoint's signing secret, unsealed for signing."""
    return sealing.secret_open(endpoint.secret_sealed)


def _url_checked(url: str) -> str:
    try:
        fetch.address_check(url, allowed_networks=settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS)
    except (fetch.AddressRefused, fetch.PostFailed) as exc:
        raise ValidationError({"url": str(exc)}) from exc
    return url


def _event_types_checked(event_types: Iterable[str]) -> list[str]:
    chosen = [e for e in EventType.values if e in set(event_types)]
    if not chosen:
        raise ValidationError({"event_types": "Choose at least one event."})
    return chosen


def endpoint_create(
    *, user, url: str, description: str = "", event_types: Iterable[str], team=None
) -> tuple[Endpoint, str]:
    """A personal endpoint, or a team's when ``team`` is given (its owners only), and its
    signing secret: only its sealed form is kept, so this is the one time it is shown."""
    if team is not None and not _is_team_owner(user=user, team_id=team.id):
        raise ValidationError(OWNERS_ONLY)
    secret = _secret_new()
    endpoint = Endpoint.objects.create(
        owner=None if team is not None else user,
        team=team,
        created_by=user,
        url=_url_checked(url),
        description=description,
        event_types=_event_types_checked(event_types),
        secret_sealed=sealing.secret_seal(secret),
    )
    return endpoint, secret


def endpoint_update(
    *, endpoint: Endpoint, url: str, description: str, event_types: Iterable[str], enabled: bool
) -> Endpoint:
    endpoint.url = _url_checked(url)
    endpoint.description = description
    endpoint.event_types = _event_types_checked(event_types)
    if enabled and not endpoint.enabled:
        endpoint.disabled_reason = ""
    endpoint.enabled = enabled
    endpoint.save()
    return endpoint


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    """A new signing secret (the old one signs nothing more), shown this once."""
    secret = _secret_new()
    endpoint.secret_sealed = sealing.secret_seal(secret)
    endpoint.save(update_fields=["secret_sealed", "updated_at"])
    return secret


def endpoint_secrets_reseal() -> int:
    """Every sealed secret moved under the first of ATELIER_WEBHOOK_KEYS, so an old key can
    be dropped; the secrets themselves do not change. Returns how many were resealed."""
    count = 0
    for endpoint_id, sealed in Endpoint.objects.values_list("id", "secret_sealed").iterator():
        count += Endpoint.objects.filter(id=endpoint_id, secret_sealed=sealed).update(
            secret_sealed=sealing.secret_reseal(sealed)
        )
    return count


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def _is_team_owner(*, user, team_id: int) -> bool:
    return Membership.objects.filter(
        user=user, team_id=team_id, role=Membership.Role.OWNER
    ).exists()


# -- events -------------------------------------------------------------------------


def _site_link(path: str) -> str:
    return settings.ATELIER_SITE_URL + path


def job_payload(*, job: GenerationJob, event_type: str) -> dict:
    images = Image.objects.filter(job_id=job.id).order_by("index")
    error = {"code": job.error_code, "message": job.error_message} if job.error_code else None
    return {
        "type": event_type,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "data": {
            "id": str(job.id),
            "status": job.status,
            "kind": job.kind,
            "model": job.model,
            "prompt": job.prompt,
            "url": _site_link(reverse("jobs:job_detail", args=[job.id])),
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "cost_usd": str(job.cost_usd) if job.cost_usd is not None else None,
            "error": error,
            "images": [
                {
                    "id": image.id,
                    "index": image.index,
                    "width": image.width,
                    "height": image.height,
                    "url": _site_link(reverse("gallery:detail", args=[image.id])),
                }
                for image in images
            ],
        },
    }


def _job_teams(job: GenerationJob) -> Q:
    """Endpoints of the teams the job's work belongs to: the team an API token made it for,
    and those whose library holds its images (jobs belong to people; a team's figures count
    work the same way, see moderation.selectors.team_jobs)."""
    in_library = Image.objects.filter(job_id=job.id, team__isnull=False).values("team_id")
    made_for = JobOrigin.objects.filter(job_id=job.id, team__isnull=False).values("team_id")
    return Q(team_id__in=in_library) | Q(team_id__in=made_for)


def _matching_endpoints(job: GenerationJob, event_type: str) -> list[Endpoint]:
    candidates = Endpoint.objects.filter(
        Q(owner_id=job.owner_id) | _job_teams(job),
        enabled=True,
        # An endpoint registered after the job ended has not subscribed to its past.
        created_at__lte=job.finished_at or timezone.now(),
    )
    # Matched here, not with a JSON "contains" lookup, which SQLite (the default) lacks;
    # a person or team has a handful of endpoints.
    return [e for e in candidates if event_type in e.event_types]


def deliveries_create_for_job(*, job_id) -> list[uuid.UUID]:
    """A delivery of the job's event for every matching enabled endpoint, enqueued on commit.

    Idempotent: an event already recorded for an endpoint is not recorded twice."""
    # Looked up before any transaction: every finished job asks, and most match nothing.
    job = GenerationJob.objects.filter(id=job_id).first()
    if job is None or job.status not in EVENT_FOR_STATUS:
        return []
    event_type = EVENT_FOR_STATUS[GenerationJob.Status(job.status)]
    endpoints = _matching_endpoints(job, event_type)
    if not endpoints:
        return []
    with transaction.atomic():
        payload = job_payload(job=job, event_type=event_type)
        now = timezone.now()
        rows = [
            Delivery(
                endpoint=endpoint,
                job=job,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        # The rows that conflicted kept their own ids; only ours were inserted.
        made = list(
            Delivery.objects.filter(id__in=[r.id for r in rows]).values_list("id", flat=True)
        )
        if made:
            transaction.on_commit(lambda: _enqueue(made))
    return made


def delivery_create_test(*, endpoint: Endpoint) -> Delivery:
    """A ``webhook.test`` event for the endpoint, at most TEST_EVENTS_PER_MINUTE a minute
    (the button must not turn Atelier into a way to flood someone else's URL)."""
    now = timezone.now()
    recent = Delivery.objects.filter(
        endpoint=endpoint, event_type=TEST_EVENT, created_at__gte=now - dt.timedelta(minutes=1)
    )
    if recent.count() >= TEST_EVENTS_PER_MINUTE:
        raise ValidationError("Enough test events for now: try again in a minute.")
    payload = {
        "type": TEST_EVENT,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"endpoint_id": endpoint.id, "message": "A test event from Atelier."},
    }
    with transaction.atomic():
        delivery = Delivery.objects.create(
            endpoint=endpoint, event_type=TEST_EVENT, payload=payload, next_attempt_at=now
        )
        transaction.on_commit(lambda: _enqueue([delivery.id]))
    return delivery


def _enqueue(delivery_ids: Iterable[uuid.UUID]) -> None:
    from webhooks.tasks import deliver

    for delivery_id in delivery_ids:
        deliver.apply_async(args=(str(delivery_id),))


def on_job_finished(sender, *, job_id, status, code="", **kwargs) -> None:
    """Receiver of jobs.signals.job_finished."""
    deliveries_create_for_job(job_id=job_id)


# -- delivering ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status: str = ""
    retry_in: float | None = None


def _lease_seconds() -> float:
    return settings.ATELIER_WEBHOOK_TIMEOUT + 60


def _claim(delivery_id) -> Delivery | None:
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(id=delivery_id, status=Delivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(
            attempts=F("attempts") + 1,
            leased_until=now + dt.timedelta(seconds=_lease_seconds()),
        )
    )
    if claimed != 1:
        return None
    return Delivery.objects.select_related("endpoint").get(id=delivery_id)


def _signed_headers(delivery: Delivery, body: str) -> list[tuple[str, str]]:
    msg_id = f"msg_{delivery.id}"
    now = timezone.now()
    secret = endpoint_secret(endpoint=delivery.endpoint)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body)
    return [
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(int(now.timestamp()))),
        ("webhook-signature", signature),
    ]


def retry_after_seconds(value: str, *, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header's wait: delta-seconds or an HTTP date; None if unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or timezone.now())).total_seconds())


def _retry_delay(attempts: int, retry_after: float | None) -> float | None:
    """Seconds before the next attempt, or None once the schedule is used up."""
    schedule = settings.ATELIER_WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    # Jitter (±20 %), so the deliveries a receiver's outage held back do not return at once.
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def delivery_attempt(*, delivery_id) -> AttemptOutcome:
    """Send one attempt of a delivery, if it is due and nobody else is sending it."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return AttemptOutcome()
    endpoint = delivery.endpoint
    started = timezone.now()
    clock = time.monotonic()
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    status_code = None
    excerpt = ""
    retry_after = None
    try:
        if not endpoint.enabled and delivery.event_type != TEST_EVENT:
            raise _Stop(Delivery.Status.FAILED, "The endpoint is disabled.")
        # An endpoint's URL is data its owner controls: only public addresses unless the
        # operator allows a network, and no redirect is followed.
        answer = fetch.guarded_post(
            endpoint.url,
            body=body.encode(),
            headers=[*_signed_headers(delivery, body), *REQUEST_HEADERS],
            allowed_networks=settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS,
            timeout=settings.ATELIER_WEBHOOK_TIMEOUT,
            max_answer_bytes=RESPONSE_CAP_BYTES,
        )
    except _Stop as stop:
        return _record(delivery, started, clock, final=stop.status, error=stop.error)
    except fetch.AddressRefused as exc:
        logger.warning("webhook %s to endpoint %s refused: %s", delivery.id, endpoint.id, exc)
        return _record(delivery, started, clock, final=Delivery.Status.REFUSED, error=str(exc))
    except fetch.PostFailed as exc:
        error = str(exc)
    except sealing.InvalidToken:
        # The keys were changed without resealing: retried on schedule, so the operator
        # can put the old key back.
        logger.error("webhook endpoint %s: no configured key opens its secret", endpoint.id)
        error = SECRET_UNREADABLE
    else:
        status_code = answer.status
        excerpt = answer.body[:500].decode("utf-8", "replace")
        if 200 <= answer.status < 300:
            return _record(
                delivery,
                started,
                clock,
                final=Delivery.Status.DELIVERED,
                status_code=status_code,
                excerpt=excerpt,
            )
        if answer.status == 410:
            Endpoint.objects.filter(id=endpoint.id).update(
                enabled=False, disabled_reason=GONE_REASON, updated_at=timezone.now()
            )
            return _record(
                delivery,
                started,
                clock,
                final=Delivery.Status.FAILED,
                status_code=410,
                excerpt=excerpt,
                error=GONE_REASON,
            )
        error = f"The receiver answered {answer.status}."
        if answer.status in (429, 503):
            retry_after = retry_after_seconds(answer.header("retry-after"))
    delay = _retry_delay(delivery.attempts, retry_after)
    if delay is None:
        return _record(
            delivery,
            started,
            clock,
            final=Delivery.Status.FAILED,
            status_code=status_code,
            excerpt=excerpt,
            error=f"{error} Given up after {delivery.attempts} attempts.",
        )
    return _record(
        delivery,
        started,
        clock,
        status_code=status_code,
        excerpt=excerpt,
        error=error,
        retry_in=delay,
    )


class _Stop(Exception):
    def __init__(self, status: str, error: str):
        self.status, self.error = status, error


def _record(
    delivery: Delivery,
    started: dt.datetime,
    clock: float,
    *,
    final: str = "",
    status_code: int | None = None,
    excerpt: str = "",
    error: str = "",
    retry_in: float | None = None,
) -> AttemptOutcome:
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started,
            status_code=status_code,
            duration_ms=round((time.monotonic() - clock) * 1000),
            error=error[:300],
            response_excerpt=excerpt[:500],
        )
        fields: dict = {"leased_until": None}
        if final:
            fields.update(status=final, finished_at=now, next_attempt_at=None)
        else:
            fields["next_attempt_at"] = now + dt.timedelta(seconds=retry_in or 0)
        Delivery.objects.filter(id=delivery.id).update(**fields)
    return AttemptOutcome(status=final or Delivery.Status.PENDING, retry_in=retry_in)


def deliveries_sweep() -> list[uuid.UUID]:
    """Re-enqueue due deliveries (a lost message, a dead worker, a wait too long for the
    broker) and record events a crash left without deliveries. Returns what it enqueued."""
    now = timezone.now()
    for job_id in (
        GenerationJob.objects.filter(
            status__in=list(EVENT_FOR_STATUS),
            finished_at__gte=now - SWEEP_WINDOW,
            finished_at__lte=now - dt.timedelta(seconds=30),
            webhook_deliveries__isnull=True,
        )
        .filter(
            Q(owner__webhook_endpoints__enabled=True)
            | Q(images__team__webhook_endpoints__enabled=True)
            | Q(api_origin__team__webhook_endpoints__enabled=True)
        )
        .values_list("id", flat=True)
        .distinct()
    ):
        deliveries_create_for_job(job_id=job_id)
    due = list(
        Delivery.objects.filter(
            # Fresh ones have their own message; the sweep picks up what waits longer.
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now - dt.timedelta(seconds=15),
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .values_list("id", flat=True)[:1000]
    )
    _enqueue(due)
    return due
