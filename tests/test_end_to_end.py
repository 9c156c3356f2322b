"""The whole slice on real services: browser form → Celery worker → provider → S3 → gallery."""

import hashlib

import httpx
import pytest
from django.urls import reverse

from gallery.models import Image
from jobs.models import GenerationJob
from tests.factories import PASSWORD
from tests.support import bucket_keys, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def test_it_generates_stores_and_shows_the_image_to_its_owner_only(
    worker, client, alice, bob, s3, fake_provider
):
    log_in(client, alice)
    response = client.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-3",
            "prompt": "a red fox reading a map",
            "size": "1024x1024",
            "quality": "hd",
            "style": "natural",
        },
    )
    assert response.status_code == 302

    job = wait_for_job(GenerationJob.objects.get(owner=alice))
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    assert job.attempts == 1
    [call] = fake_provider.calls_for("red fox")
    assert call.body == {
        "model": "dall-e-3",
        "prompt": "a red fox reading a map",
        "n": 1,
        "size": "1024x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
        "user": call.body["user"],
    }
    assert "alice" not in call.body["user"]

    image = Image.objects.get(job=job)
    assert (image.width, image.height, image.format) == (1024, 1024, "PNG")
    assert image.revised_prompt == "A vivid rendering of: a red fox reading a map"
    assert bucket_keys(s3) == [image.original_key, image.thumbnail_key]
    original = s3.get_object(Bucket="atelier-test", Key=image.original_key)["Body"].read()
    assert hashlib.sha256(original).hexdigest() == image.sha256
    thumbnail = s3.get_object(Bucket="atelier-test", Key=image.thumbnail_key)
    assert thumbnail["Body"].read()[8:12] == b"WEBP"

    gallery = client.get(reverse("gallery:list"))
    assert gallery.status_code == 200
    [tile] = gallery.context["tiles"]
    thumb_url = tile[1]["thumbnail"]
    assert "X-Amz-Signature=" in thumb_url and "X-Amz-Expires=300" in thumb_url
    fetched = httpx.get(thumb_url)
    assert fetched.status_code == 200 and fetched.content[8:12] == b"WEBP"

    detail = client.get(reverse("gallery:detail", args=[image.id]))
    assert detail.status_code == 200
    assert b"a red fox reading a map" in detail.content

    client.logout()
    log_in(client, bob)
    assert client.get(reverse("gallery:list")).context["tiles"] == []
    assert client.get(reverse("gallery:detail", args=[image.id])).status_code == 404
    assert client.get(reverse("gallery:original", args=[image.id])).status_code == 404
    assert client.get(reverse("jobs:job_card", args=[job.id])).status_code == 404


def test_it_downloads_a_url_reply_at_once_and_stores_it(worker, client, alice, s3, fake_provider):
    log_in(client, alice)
    client.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-2",
            "prompt": "two owls fake:url",
            "size": "512x512",
            "n": "2",
        },
    )
    job = wait_for_job(GenerationJob.objects.get(owner=alice))
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    images = list(job.images.order_by("index"))
    assert [(i.index, i.width) for i in images] == [(0, 512), (1, 512)]
    assert len(fake_provider.calls_for("two owls")) == 1
    assert len(bucket_keys(s3)) == 4
    assert job.answer.items[0]["url"].startswith("http://127.0.0.1")
    assert job.answer.items[0]["b64_json"] is None  # trimmed once safely stored


def test_it_shows_a_failed_job_with_the_providers_reason(worker, client, alice, s3, fake_provider):
    log_in(client, alice)
    client.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-3",
            "prompt": "a castle fake:insufficient_user_quota",
        },
    )
    job = wait_for_job(GenerationJob.objects.get(owner=alice))
    assert job.status == GenerationJob.Status.FAILED
    card = client.get(reverse("jobs:job_card", args=[job.id]))
    assert b"run out of credit" in card.content
    assert b"Traceback" not in card.content
    assert bucket_keys(s3) == []
