""" "Check models": what a connection claims against its provider's GET /v1/models."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalogue.checks import models_check
from catalogue.models import PairingReview
from catalogue.services import catalogue_model_copy
from jobs import services
from jobs.connections import api_key_encrypt
from jobs.models import GenerationJob, ProviderConnection
from tests.fake_provider import API_KEY


@pytest.fixture
def proxy(catalogue, fake_provider):
    """A proxy connection added in the admin that claims three models."""
    fake_provider.listed_models = ["dall-e-3", "gpt-image-2", "flux-kontext-pro"]
    return ProviderConnection.objects.create(
        name="proxy-000",
        family="openai_images",
        base_url=fake_provider.base_url,
        api_key_encrypted=api_key_encrypt(API_KEY, base_url=fake_provider.base_url),
        model_names=["dall-e-3", "gpt-image-2", "gpt-image-1.5"],
        allowed_networks=["127.0.0.1/32"],
    )


def test_it_reports_served_missing_and_unknown_names(proxy):
    report = models_check(connection_name="proxy-000")
    assert report.error == ""
    assert report.served == ["dall-e-3", "gpt-image-2"]
    assert report.missing == ["gpt-image-1.5"]
    assert report.unknown == ["flux-kontext-pro"]
    [flag] = PairingReview.objects.all()
    assert (flag.connection, flag.model, flag.reason) == ("proxy-000", "gpt-image-1.5", "missing")


def test_the_command_says_the_same(proxy, capsys):
    call_command("models_check", "proxy-000")
    out = capsys.readouterr().out
    assert "served: dall-e-3, gpt-image-2" in out
    assert "missing (claimed, not listed; marked for review): gpt-image-1.5" in out
    assert "unknown (add from a template in the admin): flux-kontext-pro" in out


def test_the_admin_action_offers_unknown_names_as_add_from_template(proxy, admin_client):
    response = admin_client.post(
        reverse("admin:jobs_providerconnection_changelist"),
        {"action": "check_models", "_selected_action": [proxy.pk]},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-check="missing">gpt-image-1.5<' in html
    add = reverse("admin:catalogue_cataloguemodel_add")
    assert f'href="{add}?name=flux-kontext-pro"' in html


def test_the_environment_connection_is_checked_too(catalogue, fake_provider):
    report = models_check(connection_name="openai")
    assert report.missing == []
    assert set(report.served) == {
        "dall-e-2",
        "dall-e-3",
        "gpt-image-1.5",
        "gpt-image-1-mini",
        "gpt-image-2",
    }


def test_an_invalid_model_answer_marks_the_pairing_for_review(proxy, alice, fake_provider, s3):
    template = proxy_model_template()
    catalogue_model_copy(name="proxy-only-hd", family="openai_images", template=template)
    proxy.model_names = [*proxy.model_names, "proxy-only-hd"]
    proxy.save()
    job = services.job_create(user=alice, model_name="proxy-only-hd", prompt="a moth", params={})
    assert job.connection == "proxy-000"
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (GenerationJob.Status.FAILED, "invalid_model")
    flag = PairingReview.objects.get(reason="invalid_model")
    assert (flag.connection, flag.model, flag.occurrences) == ("proxy-000", "proxy-only-hd", 1)


def proxy_model_template():
    from catalogue.models import CatalogueModel

    return CatalogueModel.objects.get(name="gpt-image-2")
