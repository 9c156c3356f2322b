"""A job made through the API runs on the real worker, and its image is then listed,
searchable and downloadable through the API."""

import hashlib
import json

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Image
from jobs.models import GenerationJob
from tests.api.conftest import png, token_client
from tests.support import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_made_through_the_api_lands_in_the_gallery(worker, alice, charlie, s3, fake_provider):
    client = token_client(alice)
    response = client.post(
        "/api/jobs/generate",
        data=json.dumps({"model": "dall-e-3", "prompt": "a copper teapot on a windowsill"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    made = response.json()
    # The worker may have claimed it before the answer was written.
    assert made["status"] in ("queued", "running") and made["kind"] == "generate"

    job = wait_for_job(GenerationJob.objects.get(id=made["id"]))
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("copper teapot")
    assert call.body["model"] == "dall-e-3"

    seen = client.get(f"/api/jobs/{job.id}").json()
    assert seen["status"] == "succeeded"
    [brief] = seen["images"]
    image = Image.objects.get(job=job)
    assert brief["id"] == image.id

    found = client.get("/api/images", {"q": "teapot"}).json()
    assert [i["id"] for i in found["images"]] == [image.id]
    assert found["images"][0]["prompt"] == "a copper teapot on a windowsill"
    assert client.get("/api/images", {"q": "teapots"}).json()["images"][0]["id"] == image.id
    assert client.get("/api/images", {"q": "bicycle"}).json()["images"] == []
    assert client.get("/api/images", {"model": "dall-e-3"}).json()["images"][0]["id"] == image.id

    detail = client.get(f"/api/images/{image.id}").json()
    assert detail["links"]["expires_in"] > 0
    original = httpx.get(detail["links"]["original"], timeout=10)
    assert original.status_code == 200
    assert hashlib.sha256(original.content).hexdigest() == image.sha256

    # Nobody else finds it.
    assert token_client(charlie).get("/api/images", {"q": "teapot"}).json()["images"] == []

    # A masked edit of it, through the API, runs too and lands beside it.
    mask = SimpleUploadedFile(
        "mask.png", png(image.width, image.height, colour=(0, 0, 0, 0), mode="RGBA")
    )
    response = client.post(
        "/api/jobs/edit",
        {"image_id": image.id, "model": "dall-e-2", "prompt": "add a sleeping cat", "mask": mask},
    )
    assert response.status_code == 201, response.content
    edit = wait_for_job(GenerationJob.objects.get(id=response.json()["id"]))
    assert edit.status == GenerationJob.Status.SUCCEEDED, edit.error_message
    assert edit.kind == GenerationJob.Kind.EDIT and edit.source_image_id == image.id
    [call] = fake_provider.calls_for("sleeping cat")
    assert call.path == "/v1/images/edits"
    found = client.get("/api/images", {"q": "cat"}).json()["images"]
    assert [i["job_id"] for i in found] == [str(edit.id)]
