"""The webhooks pages: registering, editing, send test, and per-object access (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from teams.models import Membership
from teams.services import team_create
from tests.webhooks.support import secret_of
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_endpoint(alice, receiver, loopback_allowed):
    endpoint, _secret = services.endpoint_create(
        user=alice, url=receiver.url, description="CI", event_types=["job.succeeded"]
    )
    return endpoint


def test_it_registers_an_endpoint_and_shows_its_secret_once(
    client, alice, receiver, loopback_allowed
):
    client.force_login(alice)
    response = client.post(
        reverse("webhooks:list"),
        {
            "url": receiver.url,
            "description": "build server",
            "event_types": ["job.succeeded", "job.unknown"],
            "for_team": "",
        },
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert (endpoint.owner, endpoint.team, endpoint.enabled) == (alice, None, True)
    assert endpoint.event_types == ["job.succeeded", "job.unknown"]
    secret = secret_of(endpoint)
    assert secret.startswith("whsec_") and secret.encode() in response.content
    assert reverse("webhooks:detail", args=[endpoint.id]).encode() in response.content
    # Only the sealed form is stored, and the secret is not shown again.
    assert secret not in endpoint.secret_sealed

    page = client.get(reverse("webhooks:detail", args=[endpoint.id]))
    assert page.status_code == 200
    assert secret.encode() not in page.content
    listing = client.get(reverse("webhooks:list"))
    assert receiver.url.encode() in listing.content


def test_registration_of_a_loopback_url_is_refused_on_the_page(client, alice, loopback_refused):
    client.force_login(alice)
    response = client.post(
        reverse("webhooks:list"),
        {"url": "http://127.0.0.1:8000/hook", "event_types": ["job.failed"], "for_team": ""},
    )
    assert response.status_code == 400
    assert b"may not reach" in response.content
    assert not Endpoint.objects.exists()


def test_it_edits_and_disables_an_endpoint(client, alice, alices_endpoint, receiver):
    client.force_login(alice)
    response = client.post(
        reverse("webhooks:detail", args=[alices_endpoint.id]),
        {"url": receiver.url, "description": "renamed", "event_types": ["job.failed"]},
    )
    assert response.status_code == 302
    alices_endpoint.refresh_from_db()
    assert alices_endpoint.description == "renamed"
    assert alices_endpoint.event_types == ["job.failed"]
    assert alices_endpoint.enabled is False  # the box was not ticked


def test_send_test_delivers_a_signed_test_event(
    client, alice, alices_endpoint, receiver, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("webhooks:test", args=[alices_endpoint.id]))
    assert response.status_code == 302
    delivery = Delivery.objects.get(endpoint=alices_endpoint)
    assert (delivery.event_type, delivery.status, len(callbacks)) == ("webhook.test", "pending", 1)

    services.delivery_attempt(delivery_id=delivery.id)

    [request] = receiver.received
    payload = Webhook(secret_of(alices_endpoint)).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == alices_endpoint.id
    page = client.get(reverse("webhooks:detail", args=[alices_endpoint.id]))
    assert b"webhook.test" in page.content and b"Delivered" in page.content


def test_send_test_is_limited_per_minute(
    client, alice, alices_endpoint, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    url = reverse("webhooks:test", args=[alices_endpoint.id])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for _ in range(services.TEST_EVENTS_PER_MINUTE + 2):
            response = client.post(url, follow=True)
    assert Delivery.objects.count() == services.TEST_EVENTS_PER_MINUTE
    assert len(callbacks) == services.TEST_EVENTS_PER_MINUTE
    assert b"try again in a minute" in response.content


def test_the_delivery_log_takes_the_same_queries_for_many_deliveries(
    client, alice, alices_endpoint, django_assert_max_num_queries
):
    from tests.webhooks.support import finished_job

    for _ in range(6):
        services.deliveries_create_for_job(job_id=finished_job(alice).id)
    for delivery in Delivery.objects.all():
        services.delivery_attempt(delivery_id=delivery.id)
    client.force_login(alice)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("webhooks:detail", args=[alices_endpoint.id]))
    assert response.content.count(b'class="attempt"') == 6


def test_rotating_the_secret_shows_the_new_one_once_and_signs_with_it(
    client, alice, alices_endpoint, receiver
):
    client.force_login(alice)
    old = secret_of(alices_endpoint)
    response = client.post(reverse("webhooks:rotate", args=[alices_endpoint.id]))
    alices_endpoint.refresh_from_db()
    new = secret_of(alices_endpoint)
    assert new != old and new.startswith("whsec_")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert new.encode() in response.content
    page = client.get(reverse("webhooks:detail", args=[alices_endpoint.id]))
    assert new.encode() not in page.content

    delivery = services.delivery_create_test(endpoint=alices_endpoint)
    services.delivery_attempt(delivery_id=delivery.id)
    [request] = receiver.received
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_it_deletes_an_endpoint_after_confirmation(client, alice, alices_endpoint):
    client.force_login(alice)
    url = reverse("webhooks:delete", args=[alices_endpoint.id])
    assert client.get(url).status_code == 200
    assert Endpoint.objects.exists()
    assert client.post(url).status_code == 302
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("name", ["detail", "test", "rotate", "delete"])
def test_charlie_gets_404_for_alices_endpoint(client, charlie, alices_endpoint, name):
    client.force_login(charlie)
    url = reverse(f"webhooks:{name}", args=[alices_endpoint.id])
    assert client.get(url).status_code in (404, 405)
    assert (
        client.post(
            url, {"url": "https://example.com/x", "event_types": ["job.failed"]}
        ).status_code
        == 404
    )
    alices_endpoint.refresh_from_db()
    assert alices_endpoint.url.startswith("http://127.0.0.1")
    assert Endpoint.objects.filter(id=alices_endpoint.id).exists()
    assert not Delivery.objects.exists()


def test_charlie_does_not_see_alices_endpoint_in_his_list(client, charlie, alices_endpoint):
    client.force_login(charlie)
    response = client.get(reverse("webhooks:list"))
    assert response.status_code == 200
    assert list(response.context["endpoints"]) == []
    assert secret_of(alices_endpoint).encode() not in response.content


def test_team_owners_manage_team_endpoints_and_other_members_get_404(
    client, alice, bob, receiver, loopback_allowed
):
    team = team_create(user=alice, name="Moonlight")
    Membership.objects.create(team=team, user=bob, role=Membership.Role.EDITOR)
    client.force_login(alice)
    response = client.post(
        reverse("webhooks:list"),
        {"url": receiver.url, "event_types": ["job.succeeded"], "for_team": str(team.id)},
    )
    assert response.status_code == 201
    endpoint = Endpoint.objects.get()
    assert (endpoint.owner, endpoint.team) == (None, team)

    client.force_login(bob)
    assert client.get(reverse("webhooks:detail", args=[endpoint.id])).status_code == 404
    # Bob owns no team: a team id is not a choice he has.
    response = client.post(
        reverse("webhooks:list"),
        {"url": receiver.url, "event_types": ["job.succeeded"], "for_team": str(team.id)},
    )
    assert response.status_code == 400
    assert Endpoint.objects.count() == 1


def test_the_header_links_to_webhooks(client, alice):
    client.force_login(alice)
    response = client.get(reverse("webhooks:list"))
    assert f'href="{reverse("webhooks:list")}"'.encode() in response.content


def test_the_secret_page_reads_in_chinese(client, alice, alices_endpoint):
    from tests.i18n.visible_text import page_english

    client.force_login(alice)
    response = client.post(
        reverse("webhooks:rotate", args=[alices_endpoint.id]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    html = response.content.decode()
    assert "请立即复制" in html and "前往此端点" in html
    secret = secret_of(alices_endpoint)
    # Names of the scheme and its headers stay as they are spelled.
    allowed = (alices_endpoint.url, secret, "Standard Webhooks", "webhook-id", "webhook-timestamp")
    problems = page_english(html, also_allowed=allowed)
    assert problems == [], problems
