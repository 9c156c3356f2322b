"""Stored provider keys: they never follow a connection to a new host, survive a secret-key
rotation through DJANGO_SECRET_KEY_FALLBACKS, and an unreadable one is an error staff see."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from jobs import services
from jobs.connections import api_key_decrypt, api_key_encrypt, connection_named
from jobs.models import GenerationJob, ProviderConnection
from moderation.models import AuditEntry
from tests.factories import UserFactory
from tests.fake_provider import API_KEY
from tests.support import wait_for_job

Status = GenerationJob.Status
OLD_SECRET = "the-secret-key-before-rotation-" + "q1w2e3r4t5" * 3
NEW_SECRET = "the-secret-key-after-the-rotation-" + "z9x8c7v6b5" * 3


@pytest.fixture
def staff(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def _change(admin_client, row, **fields):
    data = {
        "name": row.name,
        "family": row.family,
        "base_url": row.base_url,
        "api_key": "",
        "model_names": row.model_names,
        "enabled": "on",
        **fields,
    }
    return admin_client.post(reverse("admin:jobs_providerconnection_change", args=[row.pk]), data)


def _new_host(url: str) -> str:
    # The same fake server under another host name: what a key must never be sent to.
    return url.replace("127.0.0.1", "localhost")


def test_changing_a_connections_base_url_in_the_admin_removes_its_key_and_is_audited(
    admin_client, staff, fake_connections
):
    row = ProviderConnection.objects.get(name="fake-chat")
    old_url = row.base_url
    response = _change(admin_client, row, base_url=_new_host(old_url))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.base_url == _new_host(old_url)
    assert row.api_key_encrypted == ""
    assert connection_named("fake-chat").api_key == ""
    entry = AuditEntry.objects.get(action="connection.base_url_change")
    assert entry.actor == staff and entry.target_id == str(row.pk)
    assert entry.detail == {
        "old_base_url": old_url,
        "new_base_url": _new_host(old_url),
        "key_removed": True,
        "key_entered": False,
    }
    assert API_KEY not in str(entry.detail) + entry.reason


def test_a_key_entered_with_the_new_base_url_is_kept_and_the_change_audited(
    admin_client, fake_connections
):
    row = ProviderConnection.objects.get(name="fake-chat")
    _change(admin_client, row, base_url="https://proxy.example/v1", api_key="sk-new-host-key")
    assert connection_named("fake-chat").api_key == "sk-new-host-key"
    entry = AuditEntry.objects.get(action="connection.base_url_change")
    assert entry.detail["key_entered"] and not entry.detail["key_removed"]


def test_saving_other_fields_keeps_the_key_and_writes_no_audit_entry(
    admin_client, fake_connections
):
    row = ProviderConnection.objects.get(name="fake-chat")
    _change(admin_client, row, model_names=["gpt-4-all"])
    assert connection_named("fake-chat").api_key == API_KEY
    assert not AuditEntry.objects.filter(action="connection.base_url_change").exists()


def test_the_worker_never_sends_the_stored_key_to_the_new_host(
    worker, alice, admin_client, fake_connections
):
    row = ProviderConnection.objects.get(name="fake-chat")
    _change(admin_client, row, base_url=_new_host(row.base_url))
    job = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="a lighthouse after the move", params={}
    )
    wait_for_job(job)
    assert (job.status, job.error_code) == (Status.FAILED, "no_api_key")
    assert fake_connections.calls_for("a lighthouse after the move") == []


def test_a_key_bound_to_its_url_is_not_sent_when_the_url_changes_behind_the_admins_back(
    worker, alice, admin_client, fake_connections
):
    # Entered through the admin (bound to its URL), then the URL changed by a bulk update.
    row = ProviderConnection.objects.get(name="fake-chat")
    _change(admin_client, row, api_key=API_KEY)
    ProviderConnection.objects.filter(pk=row.pk).update(base_url=_new_host(row.base_url))
    job = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="a key on the wrong host", params={}
    )
    wait_for_job(job)
    assert (job.status, job.error_code) == (Status.FAILED, "stored_key_other_host")
    assert fake_connections.calls_for("a key on the wrong host") == []
    listing = admin_client.get(reverse("admin:jobs_providerconnection_changelist"))
    assert "belongs to another URL" in listing.content.decode()


def test_a_key_from_the_previous_secret_key_decrypts_through_the_fallbacks(settings, db):
    settings.SECRET_KEY = OLD_SECRET
    token = api_key_encrypt("sk-rotated", base_url="https://x.example/v1")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET, [OLD_SECRET]
    assert api_key_decrypt(token, base_url="https://x.example/v1") == "sk-rotated"


def test_reencrypt_provider_keys_moves_stored_keys_to_the_new_secret_key(settings, db, capsys):
    settings.SECRET_KEY = OLD_SECRET
    row = ProviderConnection.objects.create(
        name="rotated",
        family="chat_completions",
        base_url="https://x.example/v1",
        model_names=["gpt-4-all"],
        api_key_encrypted=api_key_encrypt("sk-rotated", base_url="https://x.example/v1"),
    )
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET, [OLD_SECRET]
    call_command("reencrypt_provider_keys")
    assert "Re-encrypted 1 provider key(s)." in capsys.readouterr().out
    settings.SECRET_KEY_FALLBACKS = []
    row.refresh_from_db()
    assert connection_named("rotated").api_key == "sk-rotated"
    assert "sk-rotated" not in row.api_key_encrypted


def test_reencrypt_provider_keys_names_the_keys_no_secret_key_decrypts(settings, db):
    settings.SECRET_KEY = OLD_SECRET
    ProviderConnection.objects.create(
        name="lost",
        family="chat_completions",
        base_url="https://x.example/v1",
        api_key_encrypted=api_key_encrypt("sk-lost"),
    )
    settings.SECRET_KEY = NEW_SECRET
    with pytest.raises(CommandError, match="lost"):
        call_command("reencrypt_provider_keys")


def test_an_undecryptable_key_fails_the_job_with_a_clear_code_and_staff_see_it(
    worker, settings, alice, admin_client, fake_connections
):
    # Stored under a secret key this deployment no longer has (rotated with no fallback).
    current, settings.SECRET_KEY = settings.SECRET_KEY, OLD_SECRET
    lost = api_key_encrypt(API_KEY)
    settings.SECRET_KEY = current
    ProviderConnection.objects.filter(name="fake-chat").update(api_key_encrypted=lost)
    assert connection_named("fake-chat").key_problem == "stored_key_undecryptable"

    job = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="a key nobody can read", params={}
    )
    wait_for_job(job)
    assert (job.status, job.error_code) == (Status.FAILED, "stored_key_undecryptable")
    assert "stored key cannot be decrypted" in job.error_message
    assert fake_connections.calls_for("a key nobody can read") == []

    listing = admin_client.get(reverse("admin:jobs_providerconnection_changelist"))
    page = listing.content.decode()
    assert "cannot be decrypted" in page and "fake-chat" in page
    row = ProviderConnection.objects.get(name="fake-chat")
    form = admin_client.get(reverse("admin:jobs_providerconnection_change", args=[row.pk]))
    assert "cannot be decrypted: re-enter it" in form.content.decode()
