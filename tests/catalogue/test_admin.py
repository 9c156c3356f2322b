"""An administrator adds a model like another and a member generates with it at once,
through the real worker, with no code change; a bad edit is refused with a message."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalogue.models import CatalogueModel
from jobs import services
from jobs.connections import api_key_encrypt
from jobs.models import GenerationJob, ProviderConnection
from jobs.registry import get_model
from tests.fake_provider import API_KEY
from tests.support import wait_for_job

FORM_FIELDS = (
    "name",
    "family",
    "position",
    "label_en",
    "label_zh",
    "description_en",
    "description_zh",
    "lifecycle",
    "shutdown_on",
    "announced_on",
    "successor",
    "lifecycle_note",
    "lifecycle_source",
)


def change_form(row: CatalogueModel, **changes) -> dict:
    data = {name: getattr(row, name) or "" for name in FORM_FIELDS}
    data["spec"] = json.dumps(changes.pop("spec", row.spec))
    data["price"] = json.dumps(changes.pop("price", row.price))
    return {**data, **changes}


def add_like(admin_client, name: str, template: str) -> CatalogueModel:
    response = admin_client.post(
        reverse("admin:catalogue_cataloguemodel_add"),
        {"name": name, "family": "openai_images", "template": template, "label_en": "House HD"},
    )
    row = CatalogueModel.objects.get(name=name)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalogue_cataloguemodel_change", args=[row.pk])
    return row


def test_an_added_model_copies_its_template_and_records_edits(admin_client, catalogue):
    row = add_like(admin_client, "house-hd", "gpt-image-2")
    template = CatalogueModel.objects.get(name="gpt-image-2")
    assert (row.copied_from, row.spec, row.price) == ("gpt-image-2", template.spec, template.price)
    assert row.shipped_version == "" and row.lifecycle == "available"
    spec = {**row.spec, "qualities": ["low", "high"], "n_max": 2}
    response = admin_client.post(
        reverse("admin:catalogue_cataloguemodel_change", args=[row.pk]), change_form(row, spec=spec)
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert set(row.edited_fields) == {"spec.qualities", "spec.n_max"}
    assert get_model("house-hd").qualities == ("low", "high")


def test_a_family_the_template_is_not_of_is_refused(admin_client, catalogue):
    response = admin_client.post(
        reverse("admin:catalogue_cataloguemodel_add"),
        {"name": "odd", "family": "midjourney", "template": "gpt-image-2", "label_en": "Odd"},
    )
    assert response.status_code == 200
    assert "gpt-image-2 belongs to the openai_images family" in response.content.decode()
    assert not CatalogueModel.objects.filter(name="odd").exists()


@pytest.mark.parametrize(
    ("spec_change", "message"),
    [
        ({"default_quality": "ultra"}, "default_quality &#x27;ultra&#x27; is not a quality."),
        ({"sizes": "1024x1024"}, "sizes must be a list of words."),
        ({"n_max": 0}, "n_max must be at least 1."),
        ({"blends": True}, "The openai_images family cannot blend."),
        ({"wings": 2}, "Unknown spec keys: wings."),
    ],
)
def test_an_edit_that_makes_no_usable_spec_is_refused(
    admin_client, catalogue, spec_change, message
):
    row = CatalogueModel.objects.get(name="gpt-image-2")
    response = admin_client.post(
        reverse("admin:catalogue_cataloguemodel_change", args=[row.pk]),
        change_form(row, spec={**row.spec, **spec_change}),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    row.refresh_from_db()
    assert row.edited_fields == []
    assert get_model("gpt-image-2").n_max == 10


def test_a_member_generates_with_a_model_an_admin_just_added(
    admin_client, alice, catalogue, worker, fake_provider
):
    fake_provider.extra_models.add("house-hd")
    row = add_like(admin_client, "house-hd", "gpt-image-2")
    spec = {**row.spec, "sizes": ["1024x1024", "1536x1024"], "default_size": "1024x1024"}
    admin_client.post(
        reverse("admin:catalogue_cataloguemodel_change", args=[row.pk]), change_form(row, spec=spec)
    )
    ProviderConnection.objects.create(
        name="house-proxy",
        family="openai_images",
        base_url=fake_provider.base_url,
        api_key_encrypted=api_key_encrypt(API_KEY, base_url=fake_provider.base_url),
        model_names=["house-hd"],
        allowed_networks=["127.0.0.1/32"],
    )
    job = services.job_create(
        user=alice,
        model_name="house-hd",
        prompt="a lantern in the rain",
        params={"size": "1536x1024", "quality": "high"},
    )
    assert job.connection == "house-proxy"
    wait_for_job(job)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("a lantern in the rain")
    assert (call.body["model"], call.body["size"], call.body["quality"]) == (
        "house-hd",
        "1536x1024",
        "high",
    )
    assert job.images.count() == 1
