"""Delivering events: signatures, retries, refusals, idempotence (in-process, real HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from jobs import observability
from jobs.models import GenerationJob
from teams.models import Membership
from teams.services import team_create
from tests.webhooks.support import endpoint_for, finished_job, image_of, secret_of
from webhooks import services
from webhooks.models import Delivery, Endpoint

Status = GenerationJob.Status


def verified(endpoint, request) -> dict:
    return Webhook(secret_of(endpoint)).verify(request.body, request.headers)


@pytest.mark.django_db
def test_it_delivers_a_signed_job_succeeded_event(alice, receiver, loopback_allowed):
    endpoint, _secret = services.endpoint_create(
        user=alice, url=receiver.url, event_types=["job.succeeded"]
    )
    job = finished_job(alice)
    image = image_of(job)

    [delivery_id] = services.deliveries_create_for_job(job_id=job.id)
    outcome = services.delivery_attempt(delivery_id=delivery_id)

    assert outcome.status == Delivery.Status.DELIVERED
    [request] = receiver.received
    assert request.headers["webhook-id"] == f"msg_{delivery_id}"
    payload = verified(endpoint, request)
    assert payload["type"] == "job.succeeded"
    data = payload["data"]
    assert data["id"] == str(job.id)
    assert (data["status"], data["model"], data["prompt"]) == (
        "succeeded",
        "gpt-image-1.5",
        "a lighthouse in fog",
    )
    assert data["cost_usd"] == "0.0400" and data["error"] is None
    assert data["url"].endswith(f"/jobs/{job.id}/page/")
    assert [
        (i["id"], i["url"].endswith(f"/gallery/images/{image.id}/")) for i in data["images"]
    ] == [(image.id, True)]
    delivery = Delivery.objects.get(id=delivery_id)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.finished_at is not None
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.error == ""


@pytest.mark.django_db
def test_a_receiver_with_another_secret_rejects_the_signature(alice, receiver, loopback_allowed):
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.failed"])
    job = finished_job(alice, status=Status.FAILED, error_code="provider_error", cost_usd=None)
    [delivery_id] = services.deliveries_create_for_job(job_id=job.id)
    services.delivery_attempt(delivery_id=delivery_id)

    [request] = receiver.received
    with pytest.raises(WebhookVerificationError):
        Webhook(services._secret_new()).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_of(Endpoint.objects.get())).verify(request.body + b" ", request.headers)


@pytest.mark.django_db
def test_it_retries_after_a_500_with_the_same_message_id(alice, receiver, loopback_allowed):
    endpoint, _secret = services.endpoint_create(
        user=alice, url=receiver.url, event_types=["job.succeeded"]
    )
    receiver.answer(500, 200)
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    first = services.delivery_attempt(delivery_id=delivery_id)
    assert first.status == Delivery.Status.PENDING and first.retry_in is not None
    second = services.delivery_attempt(delivery_id=delivery_id)

    assert second.status == Delivery.Status.DELIVERED
    assert len(receiver.received) == 2
    assert {r.headers["webhook-id"] for r in receiver.received} == {f"msg_{delivery_id}"}
    assert [verified(endpoint, r)["type"] for r in receiver.received] == ["job.succeeded"] * 2
    attempts = Delivery.objects.get(id=delivery_id).attempt_log.all()
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 200)]
    assert "answered 500" in attempts[0].error


@pytest.mark.django_db
def test_it_gives_up_when_the_schedule_is_used_up(alice, receiver, loopback_allowed):
    loopback_allowed.ATELIER_WEBHOOK_RETRY_SCHEDULE = [0]
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.succeeded"])
    receiver.answer(503)
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    assert services.delivery_attempt(delivery_id=delivery_id).status == "pending"
    assert services.delivery_attempt(delivery_id=delivery_id).status == "failed"
    assert services.delivery_attempt(delivery_id=delivery_id).status == ""  # nothing due

    assert len(receiver.received) == 2
    delivery = Delivery.objects.get(id=delivery_id)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2
    assert "Given up after 2 attempts" in delivery.attempt_log.last().error


@pytest.mark.django_db
def test_the_default_schedule_backs_off_for_about_a_day(settings):
    schedule = settings.ATELIER_WEBHOOK_RETRY_SCHEDULE
    assert schedule == [5, 300, 1800, 7200, 18000, 36000]
    delays = [services._retry_delay(n, None) for n in range(1, len(schedule) + 2)]
    assert delays[-1] is None
    for delay, step in zip(delays, schedule, strict=False):
        assert step * 0.8 <= delay <= step * 1.2
    assert 17 * 3600 < sum(schedule) < 24 * 3600


@pytest.mark.django_db
def test_a_retry_waits_at_least_as_long_as_retry_after(alice, receiver, loopback_allowed):
    loopback_allowed.ATELIER_WEBHOOK_RETRY_SCHEDULE = [1, 3600]
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.succeeded"])
    receiver.answer((429, {"Retry-After": "120"}))
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    before = timezone.now()
    outcome = services.delivery_attempt(delivery_id=delivery_id)

    assert outcome.retry_in == 120
    delivery = Delivery.objects.get(id=delivery_id)
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=120)
    # Not due yet: a repeated task message sends nothing.
    assert services.delivery_attempt(delivery_id=delivery_id).status == ""
    assert len(receiver.received) == 1


def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    assert services.retry_after_seconds("30", now=now) == 30
    assert services.retry_after_seconds("Wed, 02 Dec 2026 12:05:00 GMT", now=now) == 300
    assert services.retry_after_seconds("soon", now=now) is None


@pytest.mark.django_db
def test_a_410_disables_the_endpoint(alice, receiver, loopback_allowed):
    endpoint, _secret = services.endpoint_create(
        user=alice, url=receiver.url, event_types=["job.succeeded"]
    )
    receiver.answer(410)
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    assert services.delivery_attempt(delivery_id=delivery_id).status == "failed"

    endpoint.refresh_from_db()
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    assert services.deliveries_create_for_job(job_id=finished_job(alice).id) == []


@pytest.mark.django_db
def test_a_redirect_is_not_followed(alice, receiver, loopback_allowed):
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.succeeded"])
    receiver.answer((307, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    outcome = services.delivery_attempt(delivery_id=delivery_id)

    assert outcome.status == "pending"
    assert len(receiver.received) == 1
    assert Delivery.objects.get(id=delivery_id).attempt_log.get().status_code == 307


@pytest.mark.django_db
def test_no_delivery_reaches_loopback_when_it_is_not_allowed(alice, receiver, loopback_refused):
    endpoint_for(alice, receiver.url)
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    outcome = services.delivery_attempt(delivery_id=delivery_id)

    assert outcome.status == Delivery.Status.REFUSED and outcome.retry_in is None
    assert receiver.received == []
    delivery = Delivery.objects.get(id=delivery_id)
    assert delivery.status == Delivery.Status.REFUSED
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "127.0.0.1" in attempt.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.8/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "file:///etc/passwd",
    ],
)
def test_registration_refuses_internal_addresses(alice, loopback_refused, url):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(user=alice, url=url, event_types=["job.succeeded"])
    assert "url" in caught.value.error_dict
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
def test_an_allowed_network_lets_registration_through(alice, receiver, loopback_allowed):
    endpoint, secret = services.endpoint_create(
        user=alice, url=receiver.url, event_types=["job.failed"]
    )
    assert secret.startswith("whsec_") and endpoint.owner == alice
    assert secret_of(endpoint) == secret


@pytest.mark.django_db
def test_one_event_per_endpoint_however_often_the_transition_is_heard(
    alice, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.cancelled"])
    job = finished_job(alice, status=Status.CANCELLED)

    with django_capture_on_commit_callbacks() as callbacks:
        observability.job_transition(job, status=Status.CANCELLED, previous="running")
        # A cancelled job whose paid images were kept logs (and signals) a second time.
        observability.job_transition(job, status=Status.CANCELLED, code="cancelled_kept")

    assert Delivery.objects.filter(job=job, event_type="job.cancelled").count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_running_transition_makes_no_delivery(alice, receiver, loopback_allowed):
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.succeeded"])
    job = finished_job(alice, status=Status.RUNNING, finished_at=None)
    observability.job_transition(job, status=Status.RUNNING, previous="queued")
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_only_matching_enabled_endpoints_of_the_owner_hear(alice, bob, receiver, loopback_allowed):
    mine = endpoint_for(alice, receiver.url, event_types=["job.succeeded"])
    endpoint_for(alice, receiver.url, event_types=["job.failed"])
    endpoint_for(alice, receiver.url, event_types=["job.succeeded"], enabled=False)
    endpoint_for(bob, receiver.url, event_types=["job.succeeded"])

    services.deliveries_create_for_job(job_id=finished_job(alice).id)

    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [mine.id]


@pytest.mark.django_db
def test_a_team_endpoint_hears_of_jobs_in_its_library(alice, bob, receiver, loopback_allowed):
    team = team_create(user=bob, name="Studio B")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.EDITOR)
    team_endpoint, _secret = services.endpoint_create(
        user=bob, team=team, url=receiver.url, event_types=["job.succeeded"]
    )
    in_team = finished_job(alice)
    image_of(in_team, team=team)
    private = finished_job(alice)
    image_of(private)

    services.deliveries_create_for_job(job_id=in_team.id)
    services.deliveries_create_for_job(job_id=private.id)

    assert list(Delivery.objects.values_list("endpoint_id", "job_id")) == [
        (team_endpoint.id, in_team.id)
    ]


@pytest.mark.django_db
def test_a_team_endpoint_hears_of_jobs_a_team_token_made(alice, bob, receiver, loopback_allowed):
    from api.models import AccessToken, JobOrigin

    team = team_create(user=bob, name="Studio B")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.EDITOR)
    team_endpoint, _secret = services.endpoint_create(
        user=bob, team=team, url=receiver.url, event_types=["job.succeeded"]
    )
    token = AccessToken.objects.create(
        user=alice, team=team, name="ci", scopes=["generate"], key_hash="0" * 64, prefix="atl_x"
    )
    job = finished_job(alice)
    JobOrigin.objects.create(job=job, token=token, team=team)

    services.deliveries_create_for_job(job_id=job.id)

    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [team_endpoint.id]


@pytest.mark.django_db
def test_only_team_owners_register_team_endpoints(alice, bob, receiver, loopback_allowed):
    from django.core.exceptions import ValidationError

    team = team_create(user=bob, name="Studio B")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.EDITOR)
    with pytest.raises(ValidationError):
        services.endpoint_create(
            user=alice, team=team, url=receiver.url, event_types=["job.failed"]
        )


@pytest.mark.django_db
def test_the_sweep_records_an_event_a_crash_lost_and_resends_what_is_due(
    alice, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    endpoint_for(alice, receiver.url, event_types=["job.succeeded"])
    endpoint = Endpoint.objects.get()
    Endpoint.objects.filter(id=endpoint.id).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    # The job ended but no delivery was recorded (a crash between the two writes).
    job = finished_job(alice, finished_at=timezone.now() - dt.timedelta(minutes=5))
    # A pending delivery whose message was lost long ago.
    lost = Delivery.objects.create(
        endpoint=endpoint,
        event_type="webhook.test",
        payload={"type": "webhook.test"},
        next_attempt_at=timezone.now() - dt.timedelta(minutes=10),
    )

    with django_capture_on_commit_callbacks(execute=False):
        enqueued = services.deliveries_sweep()

    made = Delivery.objects.get(job=job)
    assert made.event_type == "job.succeeded"
    assert enqueued == [lost.id]  # the new one is enqueued on commit, by its own creation
    with django_capture_on_commit_callbacks(execute=False):
        services.deliveries_sweep()
    assert Delivery.objects.filter(job=job).count() == 1


@pytest.mark.django_db
def test_a_delivered_event_is_not_sent_again(alice, receiver, loopback_allowed):
    services.endpoint_create(user=alice, url=receiver.url, event_types=["job.succeeded"])
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)
    services.delivery_attempt(delivery_id=delivery_id)
    assert services.delivery_attempt(delivery_id=delivery_id).status == ""
    assert len(receiver.received) == 1
