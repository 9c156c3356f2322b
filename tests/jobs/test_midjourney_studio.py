"""Midjourney in the studio: the task's buttons on its card, blend and describe in the composer.

alice owns the work; charlie is a stranger who must learn nothing from its ids.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from jobs.models import GenerationJob

Status = GenerationJob.Status
Kind = GenerationJob.Kind

BUTTONS = [
    {"custom_id": f"MJ::JOB::upsample::{i}::h1", "label": f"U{i}", "emoji": ""} for i in (1, 2)
] + [{"custom_id": "MJ::JOB::reroll::0::h1::SOLO", "label": "", "emoji": "🔄"}]


def mj_job(owner, **fields) -> GenerationJob:
    values = dict(
        provider="midjourney",
        connection="fake-mj",
        model="midjourney",
        prompt="a red kite over hills",
        params={},
        status=Status.SUCCEEDED,
        provider_task_id="1700000000001",
        provider_actions=BUTTONS,
    )
    values.update(fields)
    return GenerationJob.objects.create(owner=owner, **values)


def picture(width: int = 64, height: int = 64, name: str = "in.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 80, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), "image/png")


def card(client, job) -> str:
    response = client.get(reverse("jobs:job_card", args=[job.id]))
    assert response.status_code == 200
    return response.content.decode()


# -- the task's buttons ---------------------------------------------------------


def test_a_finished_midjourney_card_shows_the_tasks_buttons(client, alice):
    job = mj_job(alice)
    client.force_login(alice)
    body = card(client, job)
    action_url = reverse("jobs:job_midjourney_action", args=[job.id])
    assert f'hx-post="{action_url}"' in body
    for button in BUTTONS:
        assert f'name="custom_id" value="{button["custom_id"]}"' in body
    assert ">U1</button>" in body and ">U2</button>" in body
    assert '<span class="emoji" aria-hidden="true">🔄</span>Reroll</button>' in body


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Status.RUNNING},
        {"status": Status.FAILED},
        {"provider_actions": []},
        {"provider": "openai_images", "model": "dall-e-3", "connection": "openai"},
    ],
    ids=["running", "failed", "no-buttons", "not-midjourney"],
)
def test_buttons_appear_only_on_succeeded_midjourney_jobs_that_have_them(client, alice, fields):
    job = mj_job(alice, **fields)
    client.force_login(alice)
    body = card(client, job)
    assert reverse("jobs:job_midjourney_action", args=[job.id]) not in body
    assert 'name="custom_id"' not in body


def test_pressing_a_button_makes_a_follow_up_job_and_prepends_its_card(
    client, alice, fake_connections, django_capture_on_commit_callbacks
):
    job = mj_job(alice)
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("jobs:job_midjourney_action", args=[job.id]),
            {"custom_id": BUTTONS[1]["custom_id"]},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 201, response.content.decode()
    child = GenerationJob.objects.get(kind=Kind.ACTION)
    assert (child.parent, child.owner, child.status) == (job, alice, Status.QUEUED)
    assert child.params == {
        "task_id": job.provider_task_id,
        "custom_id": BUTTONS[1]["custom_id"],
        "label": "U2",
    }
    body = response.content.decode()
    assert f'id="job-{child.id}"' in body and "Action" in body
    assert "job-created" in response["HX-Trigger"]
    assert len(callbacks) == 1


def test_charlie_gets_404_pressing_alices_button(client, alice, charlie, fake_connections):
    job = mj_job(alice)
    client.force_login(charlie)
    response = client.post(
        reverse("jobs:job_midjourney_action", args=[job.id]),
        {"custom_id": BUTTONS[0]["custom_id"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 404
    assert GenerationJob.objects.count() == 1


def test_a_button_the_task_does_not_offer_is_explained_on_the_card(client, alice, fake_connections):
    job = mj_job(alice)
    client.force_login(alice)
    response = client.post(
        reverse("jobs:job_midjourney_action", args=[job.id]),
        {"custom_id": "MJ::JOB::upsample::9::h1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#job-{job.id}"
    assert "That button is not offered on this Midjourney image." in response.content.decode()
    assert GenerationJob.objects.count() == 1


def test_buttons_need_a_post(client, alice):
    job = mj_job(alice)
    client.force_login(alice)
    assert client.get(reverse("jobs:job_midjourney_action", args=[job.id])).status_code == 405


# -- describe's prompts -----------------------------------------------------------


def test_a_described_image_offers_each_suggested_prompt(client, alice):
    job = mj_job(
        alice,
        kind=Kind.DESCRIBE,
        prompt="",
        provider_actions=[],
        response_text=(
            "1️⃣ a lighthouse on a cliff at dusk, oil painting --ar 1:1\n\n"
            "2️⃣ a white tower by the sea, watercolor --ar 1:1"
        ),
    )
    client.force_login(alice)
    body = card(client, job)
    assert body.count("Use this prompt") == 2
    assert 'data-prompt="a lighthouse on a cliff at dusk, oil painting --ar 1:1"' in body
    assert 'data-prompt="a white tower by the sea, watercolor --ar 1:1"' in body
    assert 'data-model="midjourney"' in body
    assert "1️⃣" not in body


# -- blend and describe in the composer ----------------------------------------------


def test_the_studio_offers_midjourneys_modes_from_the_registry(client, alice, fake_connections):
    client.force_login(alice)
    response = client.get(reverse("jobs:studio"))
    body = response.content.decode()
    controls = response.context["models"]
    assert controls["midjourney"]["kinds"] == ["generate", "blend", "describe"]
    assert controls["midjourney"]["input_counts"] == {"blend": [2, 5], "describe": [1, 1]}
    assert controls["dall-e-3"]["kinds"] == ["generate"]
    for kind in ("generate", "blend", "describe"):
        assert f'data-kind="{kind}"' in body


def test_it_blends_uploaded_images(client, alice, s3, fake_connections):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {"model": "midjourney", "kind": "blend", "images": [picture(64, 64), picture(48, 48)]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 201, response.content.decode()
    job = GenerationJob.objects.get()
    assert (job.kind, job.model, job.prompt, len(job.input_keys)) == (
        Kind.BLEND,
        "midjourney",
        "",
        2,
    )


def test_it_describes_an_uploaded_image(client, alice, s3, fake_connections):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {"model": "midjourney", "kind": "describe", "images": [picture()]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 201, response.content.decode()
    job = GenerationJob.objects.get()
    assert (job.kind, len(job.input_keys)) == (Kind.DESCRIBE, 1)


@pytest.mark.parametrize(
    ("kind", "count", "message"),
    [
        ("blend", 1, "Midjourney takes between 2 and 5 images; you gave 1."),
        ("blend", 0, "Upload an image, or pick one from your gallery."),
        ("describe", 2, "Describe takes exactly one image; you gave 2."),
    ],
)
def test_upload_errors_appear_beside_the_images_field(
    client, alice, s3, fake_connections, kind, count, message
):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {"model": "midjourney", "kind": kind, "images": [picture() for _ in range(count)]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#generate-form"
    assert response.context["form"].errors["images"] == [message]
    assert message in response.content.decode()
    assert f'value="{kind}" checked' in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_a_model_without_blend_refuses_it_in_the_registrys_words(client, alice, s3):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {"model": "dall-e-3", "kind": "blend", "images": [picture(), picture()]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response.context["form"].errors["model"] == ["DALL·E 3 cannot blend images."]
    assert not GenerationJob.objects.exists()


def test_an_empty_prompt_gets_the_registrys_message(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"), {"model": "dall-e-3", "prompt": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert response.context["form"].errors["prompt"] == ["Write a prompt describing the image."]
