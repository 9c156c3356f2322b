"""Midjourney's queue position on a waiting card, and the modal buttons whole: the prompt
edited before Custom Zoom is confirmed, Vary (Region) with a region painted in Atelier.

alice owns the work; charlie is a stranger.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from jobs.services import midjourney

Status = GenerationJob.Status


@pytest.fixture(autouse=True)
def _queue_endpoint_forgotten():
    midjourney._NO_QUEUE.clear()
    yield
    midjourney._NO_QUEUE.clear()


@pytest.fixture
def imagine(alice, s3, fake_connections):
    def make(prompt):
        return services.job_create(user=alice, model_name="midjourney", prompt=prompt, params={})

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def poll(job):
    GenerationJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return run(job)


def calls(provider, part: str) -> list:
    return [c for c in provider.calls if part in c.path]


def card(client, job) -> str:
    response = client.get(reverse("jobs:job_card", args=[job.id]))
    assert response.status_code == 200
    return response.content.decode()


# -- queue position ------------------------------------------------------------------


def test_a_waiting_task_shows_its_place_in_the_proxys_queue(imagine, fake_connections, client):
    job = imagine("a crowded ferry fake:mj_queued:2")
    run(job)
    # The submit said "排队中，前面还有2个任务": two ahead, so third in line.
    assert job.progress == "Waiting at Midjourney: number 3 in its queue"
    poll(job)
    assert job.progress == "Waiting at Midjourney: number 3 in its queue"
    assert len(calls(fake_connections, "/mj/task/queue")) == 1
    client.force_login(job.owner)
    assert "Waiting at Midjourney: number 3 in its queue" in card(client, job)
    for _ in range(6):
        poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message


def test_without_a_queue_endpoint_the_card_says_it_waits_at_midjourney(
    imagine, fake_connections, client
):
    fake_connections.mj_queue_endpoint = False  # midjourney-proxy 10.0.1 and later
    job = imagine("a patient queue fake:mj_queued")
    run(job)
    poll(job)
    assert job.progress == "Waiting at Midjourney"
    poll(job)
    # Asked once; a proxy without the endpoint is not asked again.
    assert len(calls(fake_connections, "/mj/task/queue")) == 1
    client.force_login(job.owner)
    assert "Waiting at Midjourney" in card(client, job)


# -- the modal buttons ------------------------------------------------------------------


def finished(job):
    run(job)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    return job


def upscaled(imagine, alice, prompt="a harbour at night, oil painting"):
    grid = finished(imagine(prompt))
    u1 = next(a for a in grid.provider_actions if a["label"] == "U1")
    return finished(
        services.job_create_midjourney_action(user=alice, job=grid, custom_id=u1["custom_id"])
    )


def button(job, label):
    return next(a for a in job.provider_actions if a["label"] == label)["custom_id"]


def region(width: int, height: int, *, painted: bool = True) -> bytes:
    """What Atelier's mask editor sends: opaque black, the painted area transparent."""
    mask = PILImage.new("RGBA", (width, height), (0, 0, 0, 255))
    if painted:
        mask.paste((0, 0, 0, 0), (0, 0, width // 2, height // 2))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_grid_has_no_modal_buttons_and_the_upscaled_image_has_them(imagine, alice):
    grid = finished(imagine("a tidy grid"))
    assert not any(a["label"] in ("Vary (Region)", "Custom Zoom") for a in grid.provider_actions)
    image = upscaled(imagine, alice)
    labels = [a["label"] for a in image.provider_actions]
    assert {"Vary (Region)", "Custom Zoom"} <= set(labels)


def test_custom_zoom_confirms_the_prompt_the_person_edited(imagine, alice, fake_connections):
    image = upscaled(imagine, alice)
    edited = "a harbour at night, oil painting --zoom 1.5"
    zoom = services.job_create_midjourney_action(
        user=alice, job=image, custom_id=button(image, "Custom Zoom"), prompt=edited
    )
    assert zoom.prompt == edited
    run(zoom)
    poll(zoom)
    [modal] = calls(fake_connections, "/mj/submit/modal")
    assert modal.body["prompt"] == edited and "maskBase64" not in modal.body
    poll(zoom)
    poll(zoom)
    assert zoom.status == Status.SUCCEEDED, zoom.error_message
    assert fake_connections.mj_tasks[zoom.provider_task_id]["prompt"] == edited


def test_an_emptied_prompt_is_refused_before_anything_is_sent(imagine, alice, fake_connections):
    image = upscaled(imagine, alice)
    with pytest.raises(ValidationError) as error:
        services.job_create_midjourney_action(
            user=alice, job=image, custom_id=button(image, "Custom Zoom"), prompt="  "
        )
    assert error.value.message_dict == {"prompt": ["Write the prompt Midjourney should use."]}


def test_vary_region_sends_the_painted_region_the_size_of_the_upscaled_image(
    imagine, alice, fake_connections
):
    image = upscaled(imagine, alice)
    stored = Image.objects.get(job=image)
    assert (stored.width, stored.height) == (512, 512)
    vary = services.job_create_midjourney_action(
        user=alice,
        job=image,
        custom_id=button(image, "Vary (Region)"),
        prompt="a lighthouse in the corner",
        mask=region(512, 512),
    )
    run(vary)
    poll(vary)
    [modal] = calls(fake_connections, "/mj/submit/modal")
    assert modal.body["prompt"] == "a lighthouse in the corner"
    [mask] = modal.files["maskBase64"]
    assert (mask["format"], mask["size"]) == ("PNG", (512, 512))
    poll(vary)
    poll(vary)
    assert vary.status == Status.SUCCEEDED, vary.error_message


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (None, "Paint the region to vary first."),
        (region(512, 512, painted=False), "Paint the region to vary first."),
        (region(256, 256), "The region is 256×256; it must be the image's size, 512×512."),
        (b"not a picture", "The region must be a PNG image."),
    ],
    ids=["none", "unpainted", "wrong-size", "not-png"],
)
def test_vary_region_refuses_a_region_it_cannot_use(
    imagine, alice, fake_connections, mask, message
):
    image = upscaled(imagine, alice)
    with pytest.raises(ValidationError) as error:
        services.job_create_midjourney_action(
            user=alice, job=image, custom_id=button(image, "Vary (Region)"), mask=mask
        )
    assert error.value.message_dict == {"mask": [message]}


def test_the_card_opens_a_dialog_for_modal_buttons(imagine, alice, client):
    image = upscaled(imagine, alice)
    client.force_login(alice)
    body = card(client, image)
    modal_url = reverse("jobs:job_midjourney_modal", args=[image.id])
    assert f'hx-get="{modal_url}?custom_id=' in body
    zoom = client.get(modal_url, {"custom_id": button(image, "Custom Zoom")})
    assert zoom.status_code == 200
    assert 'id="mj-modal"' in zoom.content.decode()
    assert "a harbour at night, oil painting</textarea>" in zoom.content.decode()
    vary = client.get(modal_url, {"custom_id": button(image, "Vary (Region)")})
    assert 'id="mask-canvas" width="512" height="512"' in vary.content.decode()
    # A button that opens no modal, or another person's job: 404.
    assert (
        client.get(modal_url, {"custom_id": button(image, "Upscale (Subtle)")}).status_code == 404
    )


def test_charlie_gets_404_for_alices_modal(imagine, alice, charlie, client):
    image = upscaled(imagine, alice)
    client.force_login(charlie)
    modal_url = reverse("jobs:job_midjourney_modal", args=[image.id])
    assert client.get(modal_url, {"custom_id": button(image, "Custom Zoom")}).status_code == 404


def test_the_region_is_posted_with_the_prompt_from_the_dialog(
    imagine, alice, client, fake_connections
):
    image = upscaled(imagine, alice)
    client.force_login(alice)
    response = client.post(
        reverse("jobs:job_midjourney_action", args=[image.id]),
        {
            "custom_id": button(image, "Vary (Region)"),
            "prompt": "a red boat",
            "mask": SimpleUploadedFile("mask.png", region(512, 512), "image/png"),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 201, response.content.decode()
    vary = GenerationJob.objects.filter(parent=image).get()
    assert vary.prompt == "a red boat" and vary.mask_key
