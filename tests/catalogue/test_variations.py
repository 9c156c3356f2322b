"""Variations where the endpoint exists (DALL·E 2); elsewhere an edit asked for in words."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image as PILImage

from gallery.services import image_store
from jobs import services
from jobs.models import GenerationJob
from tests.factories import GenerationJobFactory


def png(width=64, height=64) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def alices_image(alice, s3):
    job = GenerationJobFactory(
        owner=alice, model="gpt-image-2", prompt="a heron at dusk", succeeded=True
    )
    return image_store(job=job, index=0, data=png())


def test_without_the_endpoint_variations_are_an_edit_with_a_derived_prompt(
    client, alice, alices_image, settings, catalogue, fake_provider
):
    settings.ATELIER_OPENAI_MODELS = ["gpt-image-2"]
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[alices_image.job_id])).content.decode()
    assert "GPT Image 2 has no variations endpoint: this asks it for an edit" in card
    assert "(as an edit)" in card
    response = client.post(
        reverse("jobs:image_variations", args=[alices_image.id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 201
    job = GenerationJob.objects.exclude(pk=alices_image.job_id).get()
    assert (job.kind, job.model, job.source_image_id) == ("edit", "gpt-image-2", alices_image.id)
    assert job.prompt.startswith("A variation of this image")
    assert job.prompt.endswith("The image was made from this prompt: a heron at dusk")
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("A variation of this image")
    assert call.path == "/v1/images/edits"


def test_dall_e_2_variations_stay_where_a_connection_serves_it(
    client, alice, alices_image, settings, catalogue, fake_provider
):
    settings.ATELIER_OPENAI_MODELS = ["dall-e-2", "gpt-image-2"]
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[alices_image.job_id])).content.decode()
    assert "Variations with DALL·E 2" in card
    response = client.post(
        reverse("jobs:image_variations", args=[alices_image.id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 201
    job = GenerationJob.objects.exclude(pk=alices_image.job_id).get()
    assert (job.kind, job.model, job.prompt) == ("variation", "dall-e-2", "")


def test_no_model_that_varies_or_edits_offers_no_variations(
    client, alice, alices_image, settings, catalogue
):
    settings.ATELIER_OPENAI_MODELS = ["dall-e-3"]
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[alices_image.job_id])).content.decode()
    assert "Variations" not in card
    response = client.post(reverse("jobs:image_variations", args=[alices_image.id]))
    assert response.status_code == 404
