"""Uploads are judged before they are read; request bodies are capped; multi-picture
JPEGs (MPO) keep their first frame, from an upload or from a provider."""

import asyncio
import concurrent.futures
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from config.asgi import application
from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from tests.fake_provider import mpo_bytes
from tests.support import wait_for_job

Status = GenerationJob.Status


class CountingUpload(SimpleUploadedFile):
    """An upload that remembers whether anything read it."""

    reads = 0

    def read(self, *args, **kwargs):
        type(self).reads += 1
        return super().read(*args, **kwargs)


def png(width=64, height=64) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_upload_over_the_models_size_is_refused_unread(alice, fake_connections):
    from django.utils.datastructures import MultiValueDict

    from jobs.forms import GenerationForm

    CountingUpload.reads = 0
    big = CountingUpload("big.png", png(), "image/png")
    big.size = 11 * 1024 * 1024  # the declared size; Midjourney takes 10 MB
    form = GenerationForm(
        {"model": "midjourney", "kind": "describe"}, MultiValueDict({"images": [big]})
    )

    assert not form.is_valid()
    assert form.errors["images"] == ["The image is 11.0 MB; Midjourney takes images under 10 MB."]
    assert CountingUpload.reads == 0


def test_too_many_uploads_are_refused_unread(alice, fake_connections):
    from django.utils.datastructures import MultiValueDict

    from jobs.forms import GenerationForm

    CountingUpload.reads = 0
    uploads = [CountingUpload(f"{n}.png", png(), "image/png") for n in range(6)]
    form = GenerationForm(
        {"model": "midjourney", "kind": "blend"}, MultiValueDict({"images": uploads})
    )

    assert not form.is_valid()
    assert form.errors["images"] == ["Midjourney takes between 2 and 5 images; you gave 6."]
    assert CountingUpload.reads == 0


def test_uploads_to_a_model_that_takes_none_are_refused_unread(alice):
    from django.utils.datastructures import MultiValueDict

    from jobs.forms import GenerationForm

    CountingUpload.reads = 0
    uploads = [CountingUpload(f"{n}.png", png(), "image/png") for n in range(2)]
    form = GenerationForm(
        {"model": "dall-e-3", "kind": "blend"}, MultiValueDict({"images": uploads})
    )

    assert not form.is_valid()
    assert form.errors["model"] == ["DALL·E 3 cannot blend images."]
    assert CountingUpload.reads == 0


def test_a_mask_over_the_models_limit_is_refused_unread(alice):
    from django.utils.datastructures import MultiValueDict

    from jobs.forms import EditForm

    CountingUpload.reads = 0
    mask = CountingUpload("mask.png", png(), "image/png")
    mask.size = 5 * 1024 * 1024  # declared; masks are at most 4 MB
    form = EditForm({"model": "dall-e-2", "prompt": "a red door"}, MultiValueDict({"mask": [mask]}))

    assert not form.is_valid()
    assert form.errors["mask"] == ["The mask is 5.0 MB; the mask must be a PNG under 4 MB."]
    assert CountingUpload.reads == 0


def test_a_body_declared_over_the_cap_gets_413_before_it_is_read(client, alice, settings):
    settings.ATELIER_MAX_REQUEST_BYTES = 1024 * 1024
    client.force_login(alice)

    response = client.generic(
        "POST",
        reverse("jobs:studio"),
        b"x" * 100,
        content_type="multipart/form-data; boundary=abc",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert "larger than the 1 MB Atelier accepts" in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_more_files_than_django_allows_are_refused(client, alice, settings):
    client.force_login(alice)
    files = [SimpleUploadedFile(f"{n}.png", png(8, 8), "image/png") for n in range(21)]

    response = client.post(
        reverse("jobs:studio"), {"model": "midjourney", "kind": "blend", "images": files}
    )

    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 20
    assert response.status_code == 400
    assert not GenerationJob.objects.exists()


def asgi_post(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> dict:
    """One request through the ASGI application, as uvicorn would deliver it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    received = {"count": 0}
    sent: list[dict] = []

    async def receive():
        if messages:
            received["count"] += 1
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # A thread of its own: the browser tests leave an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, application(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "body": body.decode(), "received": received["count"]}


@pytest.mark.django_db(transaction=True)
def test_asgi_refuses_a_declared_length_over_the_cap_without_reading(settings):
    settings.ATELIER_MAX_REQUEST_BYTES = 1024 * 1024
    answer = asgi_post([(b"content-length", str(50 * 1024 * 1024).encode())], [b"x" * 1024] * 10)

    assert answer["status"] == 413
    assert "larger than the 1 MB Atelier accepts" in answer["body"]
    assert answer["received"] == 0


@pytest.mark.django_db(transaction=True)
def test_asgi_cuts_off_a_chunked_body_once_it_passes_the_cap(settings):
    settings.ATELIER_MAX_REQUEST_BYTES = 1024 * 1024
    chunk = b"x" * (256 * 1024)
    answer = asgi_post([(b"transfer-encoding", b"chunked")], [chunk] * 40)  # 10 MB

    assert answer["status"] == 413
    assert answer["received"] <= 5  # stopped just past 1 MB, not after 10


# -- multi-picture JPEG ------------------------------------------------------------------


def test_an_mpo_upload_becomes_its_first_frame_as_a_plain_jpeg(client, alice, s3, fake_connections):
    client.force_login(alice)
    upload = SimpleUploadedFile("stereo.jpg", mpo_bytes(64, 64), "image/jpeg")

    response = client.post(
        reverse("jobs:studio"),
        {"model": "midjourney", "kind": "describe", "images": [upload]},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 201, response.content.decode()
    job = GenerationJob.objects.get()
    [key] = job.input_keys
    assert key.endswith(".jpg")
    with default_storage.open(key, "rb") as handle, PILImage.open(handle) as stored:
        assert (stored.format, getattr(stored, "n_frames", 1), stored.size) == ("JPEG", 1, (64, 64))
        assert stored.convert("RGB").getpixel((8, 8))[0] > 150  # the first (red) frame


@pytest.mark.django_db(transaction=True)
def test_an_mpo_from_the_provider_is_stored_as_its_first_frame(worker, alice, s3, fake_provider):
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a stereo pair fake:mpo", params={}
    )

    job = wait_for_job(job, timeout=30)

    assert job.status == Status.SUCCEEDED, job.error_message
    image = Image.objects.get(job=job)
    assert (image.format, image.original_key.endswith(".jpg")) == ("JPEG", True)
    original = s3.get_object(Bucket="atelier-test", Key=image.original_key)["Body"].read()
    with PILImage.open(io.BytesIO(original)) as stored:
        assert (stored.format, getattr(stored, "n_frames", 1)) == ("JPEG", 1)
