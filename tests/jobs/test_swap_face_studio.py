"""Face swaps from the studio: offered only where the model's connection allows them, both
uploads judged like any other, every swap a moderation event, and nobody else's to see.

alice swaps; charlie is a stranger who must learn nothing from the job's id.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from jobs.models import GenerationJob, ProviderConnection
from moderation.models import ModerationEvent

Kind = GenerationJob.Kind
OFF = "Face swaps are off for this connection"


def picture(name: str, width: int = 64, height: int = 64, fmt: str = "PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 80, 40)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), "image/png")


def swap_faces(on: bool = True) -> None:
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=on)


def post_swap(client, **files):
    uploads = {"source": picture("face.png"), "target": picture("crowd.png", 96, 80), **files}
    data = {"model": "midjourney", "kind": "swap_face"}
    data.update({name: upload for name, upload in uploads.items() if upload is not None})
    return client.post(reverse("jobs:studio"), data, HTTP_HX_REQUEST="true")


def test_the_studio_offers_face_swaps_only_where_the_connection_allows_them(
    client, alice, fake_connections
):
    client.force_login(alice)
    controls = client.get(reverse("jobs:studio")).context["models"]
    assert controls["midjourney"]["swap_face"] is False
    swap_faces()
    response = client.get(reverse("jobs:studio"))
    assert response.context["models"]["midjourney"]["swap_face"] is True
    assert response.context["models"]["dall-e-3"]["swap_face"] is False
    body = response.content.decode()
    assert 'data-kind="swap_face"' in body
    assert 'name="source"' in body and 'name="target"' in body


def test_it_swaps_a_face_and_records_a_moderation_event(
    client, alice, s3, fake_connections, django_capture_on_commit_callbacks
):
    swap_faces()
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_swap(client)
    assert response.status_code == 201, response.content.decode()
    job = GenerationJob.objects.get()
    assert (job.kind, job.model, job.connection, job.prompt) == (
        Kind.SWAP_FACE,
        "midjourney",
        "fake-mj",
        "",
    )
    assert len(job.input_keys) == 2
    [event] = ModerationEvent.objects.all()
    assert (event.user, event.job, event.code) == (alice, job, "swap_face")
    assert len(callbacks) == 1  # enqueued once committed
    body = response.content.decode()
    assert f'id="job-{job.id}"' in body
    assert '<span class="kind">Face swap</span>' in body


def test_a_forced_swap_where_they_are_off_gets_the_services_words_and_no_job(
    client, alice, s3, fake_connections
):
    client.force_login(alice)
    response = post_swap(client)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#generate-form"
    [message] = response.context["form"].errors["model"]
    assert message.startswith(OFF)
    assert OFF in response.content.decode()
    assert not GenerationJob.objects.exists() and not ModerationEvent.objects.exists()


def test_a_model_that_is_not_midjourney_cannot_swap_faces(client, alice, s3, fake_connections):
    swap_faces()
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-3",
            "kind": "swap_face",
            "source": picture("face.png"),
            "target": picture("crowd.png"),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response.context["form"].errors["model"] == ["DALL·E 3 cannot swap faces."]
    assert not GenerationJob.objects.exists()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("field", "upload", "message"),
    [
        (
            "source",
            SimpleUploadedFile("face.svg", SVG, "image/svg+xml"),
            "SVG and HTML files are not accepted",
        ),
        (
            "target",
            picture("crowd.png", fmt="GIF"),
            "This file is a GIF image (whatever its name says)",
        ),
        (
            "target",
            SimpleUploadedFile("crowd.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png"),
            "The image is damaged or truncated",
        ),
    ],
    ids=["svg-face", "gif-named-png", "truncated-png"],
)
def test_a_hostile_upload_is_refused_beside_its_field(
    client, alice, s3, fake_connections, field, upload, message
):
    swap_faces()
    client.force_login(alice)
    response = post_swap(client, **{field: upload})
    assert response.status_code == 400
    [error] = response.context["form"].errors[field]
    assert (
        error.startswith(message) and "Midjourney takes PNG or JPEG or WEBP under 10 MB." in error
    )
    assert message in response.content.decode()
    assert not GenerationJob.objects.exists() and not ModerationEvent.objects.exists()


def test_a_swap_needs_both_pictures(client, alice, s3, fake_connections):
    swap_faces()
    client.force_login(alice)
    response = post_swap(client, target=None)
    assert response.status_code == 400
    assert response.context["form"].errors["target"] == ["Upload the picture to put the face on."]
    assert "source" not in response.context["form"].errors
    assert not GenerationJob.objects.exists()


def test_charlie_gets_404_for_alices_swap(client, alice, charlie, s3, fake_connections):
    swap_faces()
    client.force_login(alice)
    assert post_swap(client).status_code == 201
    job = GenerationJob.objects.get()
    client.force_login(charlie)
    for name in ("jobs:job_card", "jobs:job_detail", "jobs:job_retry", "jobs:job_cancel"):
        method = client.post if name in ("jobs:job_retry", "jobs:job_cancel") else client.get
        assert method(reverse(name, args=[job.id])).status_code == 404, name
    assert f"job-{job.id}" not in client.get(reverse("jobs:studio")).content.decode()
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.QUEUED
    assert GenerationJob.objects.count() == 1


def test_a_failed_swap_retries_as_a_swap_with_its_stored_pictures(
    client, alice, s3, fake_connections
):
    swap_faces()
    client.force_login(alice)
    assert post_swap(client).status_code == 201
    job = GenerationJob.objects.get()
    GenerationJob.objects.filter(id=job.id).update(status=GenerationJob.Status.FAILED)
    response = client.post(reverse("jobs:job_retry", args=[job.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 201, response.content.decode()
    retry = GenerationJob.objects.exclude(id=job.id).get()
    assert (retry.kind, retry.parent, len(retry.input_keys)) == (Kind.SWAP_FACE, job, 2)
    assert ModerationEvent.objects.filter(job=retry, code="swap_face").count() == 1
