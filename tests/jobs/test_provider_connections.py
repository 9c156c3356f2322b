"""Several provider connections at once, from the environment and from the admin;
keys are never shown back, logged or stored with a job."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse

from jobs import services
from jobs.connections import (
    api_key_encrypt,
    configured_connections,
    connection_for_model,
    connection_named,
    offered_models,
)
from jobs.models import GenerationJob, ProviderConnection
from jobs.registry import Family, get_model
from tests.factories import UserFactory
from tests.fake_provider import API_KEY

ADMIN_KEY = "sk-admin-entered-secret-42"


@pytest.fixture
def admin_client(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_the_classic_openai_variables_still_make_a_connection(db):
    openai = connection_named("openai")
    assert openai.family is Family.OPENAI_IMAGES
    assert openai.api_key == API_KEY
    assert "gpt-image-1.5" in openai.models and "dall-e-3" in openai.models
    assert connection_for_model(get_model("dall-e-3")).name == "openai"


def test_a_connection_never_shows_its_key_in_a_repr(db):
    assert API_KEY not in repr(connection_named("openai"))


def test_atelier_connections_adds_several_at_once(db, settings, monkeypatch):
    monkeypatch.setenv("SD_PROXY_KEY", "sk-sd-proxy")
    settings.ATELIER_CONNECTIONS = [
        {
            "name": "hichat",
            "family": "chat_completions",
            "base_url": "https://hichat.example/v1",
            "api_key_env": "SD_PROXY_KEY",
            "models": ["stable-diffusion-api", "gpt-4-all"],
        },
        {
            "name": "mj",
            "family": "midjourney",
            "base_url": "https://mj.example",
            "api_key": "mj-secret",
            "models": ["midjourney"],
        },
    ]
    names = [c.name for c in configured_connections()]
    assert names[:4] == ["demo", "openai", "hichat", "mj"]
    assert connection_for_model(get_model("gpt-4-all")).api_key == "sk-sd-proxy"
    assert connection_for_model(get_model("midjourney")).base_url == "https://mj.example"
    offered = {spec.name for spec in offered_models()}
    assert {"stable-diffusion-api", "gpt-4-all", "midjourney", "dall-e-3"} <= offered


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"family": "midjourney", "base_url": "x", "models": []}, "needs a 'name'"),
        (
            {"name": "a", "family": "stable", "base_url": "x"},
            "family must be one of openai_images, chat_completions, midjourney, demo",
        ),
        ({"name": "a", "family": "midjourney", "models": ["midjourney"]}, "'base_url' is required"),
        (
            {"name": "a", "family": "midjourney", "base_url": "x", "models": ["dall-e-9"]},
            "unknown model 'dall-e-9'",
        ),
        (
            {"name": "a", "family": "midjourney", "base_url": "x", "models": ["gpt-4-all"]},
            "'gpt-4-all' belongs to the chat_completions family, not midjourney",
        ),
        (
            {"name": "a", "family": "midjourney", "base_url": "x", "api_key_env": "NOPE_NOT_SET"},
            "the variable NOPE_NOT_SET is not set",
        ),
    ],
)
def test_a_bad_connection_entry_stops_with_a_clear_error(settings, entry, message):
    settings.ATELIER_CONNECTIONS = [entry]
    with pytest.raises(ImproperlyConfigured, match=message):
        configured_connections()


def test_a_bad_atelier_connections_value_stops_start_up(monkeypatch):
    import importlib

    import config.settings as config_settings

    monkeypatch.setenv("ATELIER_CONNECTIONS", "{not json")
    with pytest.raises(ImproperlyConfigured, match="ATELIER_CONNECTIONS must be JSON"):
        importlib.reload(config_settings)
    monkeypatch.setenv("ATELIER_CONNECTIONS", json.dumps({"name": "x"}))
    with pytest.raises(ImproperlyConfigured, match="a JSON list of objects"):
        importlib.reload(config_settings)
    monkeypatch.delenv("ATELIER_CONNECTIONS")
    importlib.reload(config_settings)


def test_an_admin_adds_a_connection_whose_key_is_stored_encrypted_and_never_shown(
    admin_client, caplog
):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(
        reverse("admin:jobs_providerconnection_add"),
        {
            "name": "mj-admin",
            "family": "midjourney",
            "base_url": "https://mj.example.org",
            "api_key": ADMIN_KEY,
            "model_names": ["midjourney"],
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = ProviderConnection.objects.get(name="mj-admin")
    assert row.api_key_encrypted and ADMIN_KEY not in row.api_key_encrypted
    assert connection_named("mj-admin").api_key == ADMIN_KEY

    page = admin_client.get(reverse("admin:jobs_providerconnection_change", args=[row.pk]))
    assert page.status_code == 200
    assert ADMIN_KEY not in page.content.decode()
    assert row.api_key_encrypted not in page.content.decode()
    listing = admin_client.get(reverse("admin:jobs_providerconnection_changelist"))
    assert ADMIN_KEY not in listing.content.decode()
    assert ADMIN_KEY not in caplog.text


def test_saving_without_a_key_keeps_the_old_one(admin_client):
    row = ProviderConnection.objects.create(
        name="sd",
        family="chat_completions",
        base_url="https://sd.example/v1",
        model_names=["stable-diffusion-api"],
        api_key_encrypted=api_key_encrypt(ADMIN_KEY),
    )
    response = admin_client.post(
        reverse("admin:jobs_providerconnection_change", args=[row.pk]),
        {
            "name": "sd",
            "family": "chat_completions",
            "base_url": "https://sd.example/v1",
            "api_key": "",
            "model_names": ["stable-diffusion-api", "gpt-4-all"],
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    assert connection_named("sd").api_key == ADMIN_KEY
    assert "gpt-4-all" in connection_named("sd").models


def test_the_admin_refuses_models_of_another_family(admin_client):
    response = admin_client.post(
        reverse("admin:jobs_providerconnection_add"),
        {
            "name": "mixed",
            "family": "midjourney",
            "base_url": "https://mj.example.org",
            "model_names": ["midjourney", "dall-e-3"],
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "belong to another family: dall-e-3" in response.content.decode()
    assert not ProviderConnection.objects.exists()


def test_a_disabled_admin_connection_serves_nothing(db):
    ProviderConnection.objects.create(
        name="off",
        family="chat_completions",
        base_url="https://x.example/v1",
        model_names=["gpt-4-all"],
        enabled=False,
    )
    assert connection_named("off") is None
    assert connection_for_model(get_model("gpt-4-all")) is None


def test_an_environment_connection_wins_over_an_admin_one_of_the_same_name(db):
    ProviderConnection.objects.create(
        name="openai", family="openai_images", base_url="https://evil.example/v1"
    )
    assert connection_named("openai").base_url != "https://evil.example/v1"


def test_a_job_records_the_connection_that_serves_it_and_never_its_key(alice, db):
    ProviderConnection.objects.create(
        name="sd-admin",
        family="chat_completions",
        base_url="https://sd.example/v1",
        model_names=["stable-diffusion-api"],
        api_key_encrypted=api_key_encrypt(ADMIN_KEY),
    )
    job = services.job_create(
        user=alice, model_name="stable-diffusion-api", prompt="a coast", params={}
    )
    assert job.connection == "sd-admin"
    dumped = serializers.serialize("json", GenerationJob.objects.filter(id=job.id))
    assert ADMIN_KEY not in dumped and API_KEY not in dumped


@pytest.mark.parametrize(
    ("model", "prompt"),
    [
        ("gpt-image-1.5", "a logged lighthouse"),
        ("dall-e-2", "a failing lighthouse fake:invalid_api_key"),
        ("gpt-4-all", "a logged harbour"),
        ("midjourney", "a logged castle"),
    ],
)
def test_no_key_reaches_the_logs_in_any_family(alice, s3, fake_connections, caplog, model, prompt):
    caplog.set_level(logging.DEBUG)
    job = services.job_create(user=alice, model_name=model, prompt=prompt, params={})
    services.job_run(job_id=job.id)
    assert fake_connections.calls_for(prompt.split(" fake:")[0])
    assert "HTTP Request: POST" in caplog.text  # the clients' own request logging was on
    assert API_KEY not in caplog.text
    job.refresh_from_db()
    assert API_KEY not in serializers.serialize("json", [job])


def test_models_openai_shut_down_on_1_december_2026_are_not_offered_by_default(db, settings):
    settings.ATELIER_OPENAI_MODELS = []
    served = connection_named("openai").models
    assert {"gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"}.isdisjoint(served)
    assert "gpt-image-2" in served
    with pytest.raises(ValidationError) as error:
        get_model("gpt-image-1.5").clean(prompt="cat", params={})
    assert "use GPT Image 2 instead" in error.value.message_dict["model"][0]


def test_a_connection_that_lists_a_shut_down_model_keeps_serving_it(db, settings):
    settings.ATELIER_OPENAI_MODELS = ["gpt-image-1.5"]
    assert connection_for_model(get_model("gpt-image-1.5")).name == "openai"
