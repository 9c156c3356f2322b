"""Signing secrets at rest: sealed under ATELIER_WEBHOOK_KEYS (or a key derived from
SECRET_KEY), opened by any configured key, resealed under the first for rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks import Webhook

from tests.webhooks.support import finished_job, secret_of
from webhooks import sealing, services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(alice, receiver, loopback_allowed):
    endpoint, secret = services.endpoint_create(
        user=alice, url=receiver.url, event_types=["job.succeeded"]
    )
    endpoint.shown_secret = secret  # type: ignore[attr-defined]
    return endpoint


def test_the_row_holds_no_readable_secret(endpoint):
    stored = Endpoint.objects.values_list("secret_sealed", flat=True).get()
    assert endpoint.shown_secret not in stored and "whsec_" not in stored
    assert sealing.secret_open(stored) == endpoint.shown_secret


def test_a_new_secret_key_without_the_old_as_fallback_cannot_open_it(endpoint, settings):
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    with pytest.raises(sealing.InvalidToken):
        secret_of(endpoint)
    settings.SECRET_KEY_FALLBACKS = ["tests-only-secret-key-" + "x" * 40]
    assert secret_of(endpoint) == endpoint.shown_secret


def test_keys_rotate_without_changing_the_secret(endpoint, settings, receiver):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ATELIER_WEBHOOK_KEYS = [old]
    services.endpoint_secrets_reseal()  # from the derived key to a key of its own
    Fernet(old).decrypt(Endpoint.objects.get().secret_sealed.encode())

    settings.ATELIER_WEBHOOK_KEYS = [new, old]
    assert services.endpoint_secrets_reseal() == 1
    settings.ATELIER_WEBHOOK_KEYS = [new]
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40  # the derived key opens nothing
    endpoint.refresh_from_db()
    assert secret_of(endpoint) == endpoint.shown_secret

    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(endpoint.owner).id)
    assert services.delivery_attempt(delivery_id=delivery_id).status == "delivered"
    [request] = receiver.received
    Webhook(endpoint.shown_secret).verify(request.body, request.headers)


def test_the_reseal_command_reports_what_it_did(endpoint, settings, capsys):
    settings.ATELIER_WEBHOOK_KEYS = [Fernet.generate_key().decode()]
    call_command("webhook_secrets_reseal")
    assert "Resealed 1 webhook secret" in capsys.readouterr().out


def test_a_secret_no_key_opens_is_retried_and_nothing_is_sent(endpoint, settings, receiver):
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    [delivery_id] = services.deliveries_create_for_job(job_id=finished_job(endpoint.owner).id)
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    assert outcome.status == Delivery.Status.PENDING and outcome.retry_in is not None
    assert receiver.received == []
    attempt = Delivery.objects.get(id=delivery_id).attempt_log.get()
    assert "ATELIER_WEBHOOK_KEY" in attempt.error


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_plaintext_secrets_and_back(alice):
    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks", "0001_initial")])
    old_apps = executor.loader.project_state([("webhooks", "0001_initial")]).apps
    OldEndpoint = old_apps.get_model("webhooks", "Endpoint")
    plain = services._secret_new()
    OldEndpoint.objects.create(
        owner_id=alice.id, url="https://example.com/in", event_types=["job.failed"], secret=plain
    )

    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks", "0002_secret_sealed")])
    endpoint = Endpoint.objects.get()
    assert plain not in endpoint.secret_sealed and secret_of(endpoint) == plain

    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks", "0001_initial")])
    old_apps = executor.loader.project_state([("webhooks", "0001_initial")]).apps
    assert old_apps.get_model("webhooks", "Endpoint").objects.get().secret == plain
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
