"""A model shut down at its maker leaves "every available model" connections, is refused
there before any provider call with its successor named, and stays where a connection
lists it explicitly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from catalogue.models import CatalogueModel
from catalogue.services import catalogue_model_save
from jobs import services
from jobs.connections import connection_named, offered_controls
from jobs.models import GenerationJob
from jobs.registry import catalogue_changed, get_model
from tests.factories import GenerationJobFactory

Status = GenerationJob.Status


@pytest.fixture
def every_available(settings, catalogue):
    """The default OpenAI connection, serving every available model (no explicit list)."""
    settings.ATELIER_OPENAI_MODELS = []


def test_a_shut_down_model_is_refused_naming_its_successor_without_a_provider_call(
    alice, every_available, fake_provider
):
    with pytest.raises(ValidationError) as error:
        services.job_create(user=alice, model_name="gpt-image-1.5", prompt="a cat", params={})
    assert error.value.message_dict["model"] == [
        "GPT Image 1.5 was shut down at OpenAI on 2026-12-01 and no connection here still "
        "serves it. Use GPT Image 2 instead."
    ]
    assert not GenerationJob.objects.exists()
    assert fake_provider.calls == []


def test_a_job_queued_before_the_shutdown_fails_without_calling_the_provider(
    alice, every_available, fake_provider, s3
):
    job = GenerationJobFactory(owner=alice, model="gpt-image-1.5", params={"n": 1})
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (Status.FAILED, "no_connection")
    assert fake_provider.calls == []


def test_a_connection_that_lists_it_keeps_serving_it_and_says_so(
    alice, settings, catalogue, fake_provider, s3
):
    settings.ATELIER_OPENAI_MODELS = ["gpt-image-1.5", "gpt-image-2"]
    job = services.job_create(user=alice, model_name="gpt-image-1.5", prompt="a fox", params={})
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("a fox")
    assert call.body["model"] == "gpt-image-1.5"
    assert job.images.get().job.model == "gpt-image-1.5"  # images keep their model name
    note = offered_controls()["gpt-image-1.5"]["lifecycle_note"]
    assert note == "Retired at OpenAI, served by openai."


def test_a_shutdown_date_passing_takes_the_model_off_without_a_restart(every_available):
    row = CatalogueModel.objects.get(name="gpt-image-2-2026-04-21")
    assert "gpt-image-2-2026-04-21" in connection_named("openai").models
    before = row.entry()
    row.lifecycle = "deprecated"
    row.shutdown_on = timezone.localdate() - dt.timedelta(days=1)
    row.successor = "gpt-image-2"
    catalogue_model_save(row=row, before=before)
    catalogue_changed()  # what the 2-second check does in every other process
    assert get_model("gpt-image-2-2026-04-21").is_shut_down()
    assert "gpt-image-2-2026-04-21" not in connection_named("openai").models


def test_remix_of_an_image_made_with_a_shut_down_model_preselects_its_successor(
    client, alice, every_available
):
    job = GenerationJobFactory(owner=alice, model="gpt-image-1.5", succeeded=True)
    client.force_login(alice)
    response = client.get(reverse("jobs:studio"), {"job": job.id})
    assert response.status_code == 200
    assert response.context["form"].initial["model"] == "gpt-image-2"
    assert "gpt-image-1.5" not in response.context["models"]


def test_staff_see_a_shutdown_notice_from_30_days_before_with_the_jobs_that_used_it(
    client, root, alice, catalogue
):
    soon = CatalogueModel.objects.get(name="gpt-image-2-2026-04-21")
    before = soon.entry()
    soon.lifecycle = "deprecated"
    soon.shutdown_on = timezone.localdate() + dt.timedelta(days=20)
    soon.successor = "gpt-image-2"
    catalogue_model_save(row=soon, before=before)
    later = CatalogueModel.objects.get(name="gpt-image-2.5-flare-2026-09-08")
    before = later.entry()
    later.lifecycle = "deprecated"
    later.shutdown_on = timezone.localdate() + dt.timedelta(days=40)
    catalogue_model_save(row=later, before=before)
    catalogue_changed()
    for _ in range(3):
        GenerationJobFactory(owner=alice, model="gpt-image-2-2026-04-21")
    GenerationJobFactory(
        owner=alice,
        model="gpt-image-2-2026-04-21",
        created_at=timezone.now() - dt.timedelta(days=31),
    )
    GenerationJobFactory(owner=alice, model="gpt-image-2.5-flare-2026-09-08")
    client.force_login(root)
    html = client.get(reverse("moderation:dashboard")).content.decode()
    assert (
        "GPT Image 2 (2026-04-21) shuts down at its maker on "
        f"{soon.shutdown_on.isoformat()}; 3 jobs used it in the last 30 days."
    ) in html
    assert "Its successor is GPT Image 2." in html
    assert "GPT Image 2.5 Flare (2026-09-08) shuts down" not in html
