"""The address rules at delivery time. Name lookups are replaced (as in
tests/jobs/test_fetch_transport.py), since tests cannot run a DNS server for a name."""

from __future__ import annotations

import socket

import pytest

from tests.webhooks.support import finished_job
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


class _Names(dict):
    lookups: list[str]


@pytest.fixture
def names(monkeypatch):
    """{name: [answer for the 1st lookup, the 2nd, …]}; lookups are counted."""
    table = _Names()
    lookups: list[str] = []
    table.lookups = lookups
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answers = table[host]
        addresses = answers[min(len(lookups) - 1, len(answers) - 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_a_delivery_connects_to_the_address_it_checked(alice, receiver, loopback_allowed, names):
    port = receiver.server.server_address[1]
    # Registration and the attempt each look the name up once; a third answer would be private.
    names["hooks.rebind.test"] = [["127.0.0.1"], ["127.0.0.1"], ["10.0.0.1"]]
    services.endpoint_create(
        user=alice, url=f"http://hooks.rebind.test:{port}/in", event_types=["job.succeeded"]
    )
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    assert services.delivery_attempt(delivery_id=delivery_id).status == "delivered"

    assert names.lookups == ["hooks.rebind.test", "hooks.rebind.test"]
    [request] = receiver.received
    assert request.headers["Host"] == f"hooks.rebind.test:{port}"


def test_an_address_allowed_at_registration_is_checked_again_at_delivery(
    alice, receiver, loopback_allowed, names
):
    port = receiver.server.server_address[1]
    names["hooks.rebind.test"] = [["127.0.0.1"], ["127.0.0.1", "10.0.0.1"]]
    services.endpoint_create(
        user=alice, url=f"http://hooks.rebind.test:{port}/in", event_types=["job.succeeded"]
    )
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(alice).id)

    assert services.delivery_attempt(delivery_id=delivery_id).status == "refused"

    assert receiver.received == []
    assert "10.0.0.1" in Delivery.objects.get(id=delivery_id).attempt_log.get().error


def test_a_public_name_is_accepted_at_registration(alice, names, loopback_refused):
    names["hooks.example.com"] = [["93.184.215.14"]]
    endpoint, _secret = services.endpoint_create(
        user=alice, url="https://hooks.example.com/atelier", event_types=["job.failed"]
    )
    assert endpoint.url == "https://hooks.example.com/atelier"
