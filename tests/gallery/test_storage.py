"""Presigned links with and without a browser-facing S3 endpoint (docker-compose sets one).

The public endpoint here is ``http://localhost:<moto port>``: the same S3 server under
another host name, as a browser outside the compose network would reach MinIO.
"""

import io
import os
import re
from html import unescape
from urllib.parse import urlsplit

import boto3.session
import httpx
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from tests.gallery.conftest import png

PUBLIC = f"http://localhost:{os.environ['ATELIER_TEST_S3_PORT']}"


@pytest.fixture(params=[None, PUBLIC], ids=["internal-endpoint", "public-endpoint"])
def public_endpoint(request, settings, s3):
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **default,
            "OPTIONS": {**default["OPTIONS"], "public_endpoint_url": request.param},
        },
    }
    return request.param


@pytest.fixture
def client_builds(monkeypatch):
    """Endpoints of every boto3 client built (resources build one too)."""
    built = []
    real = boto3.session.Session.client

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("endpoint_url"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", counting)
    return built


def _thumbnail_links(html: str) -> list[str]:
    return [unescape(src) for src in re.findall(r'<img src="([^"]+)"', html)]


def test_the_gallery_renders_with_links_that_download_from_the_endpoint_browsers_use(
    client, alice, stored_image, public_endpoint, client_builds
):
    images = [stored_image(alice, colour=(i * 40, 10, 10)) for i in range(4)]
    client.force_login(alice)
    response = client.get(reverse("gallery:list"))
    assert response.status_code == 200
    links = _thumbnail_links(response.content.decode())
    assert len(links) == len(images)
    expected = urlsplit(public_endpoint or os.environ["AWS_S3_ENDPOINT_URL"]).netloc
    for link in links:
        assert urlsplit(link).netloc == expected
        assert "X-Amz-Signature=" in link and "X-Amz-Expires=300" in link
        download = httpx.get(link)
        assert download.status_code == 200
        assert download.content[:4] == b"RIFF"  # the WebP thumbnail itself
    if public_endpoint:
        # One signing client for the public endpoint, however many links a page shows.
        assert client_builds.count(public_endpoint) <= 1


def test_an_original_link_downloads_the_stored_bytes(client, alice, s3, public_endpoint):
    data = png(colour=(200, 30, 30))
    default_storage.save("originals/check/0.png", io.BytesIO(data))
    link = default_storage.url("originals/check/0.png")
    assert httpx.get(link).content == data


def test_a_hundred_public_links_are_signed_by_one_client(
    alice, stored_image, settings, s3, client_builds
):
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "public_endpoint_url": PUBLIC}},
    }
    image = stored_image(alice)
    links = {default_storage.url(image.thumbnail_key) for _ in range(100)}
    assert client_builds.count(PUBLIC) == 1
    assert all(link.startswith(PUBLIC + "/") for link in links)


@pytest.fixture
def s3_requests():
    """(method, query) of every request the default storage's client sends."""
    sent: list[tuple[str, str]] = []
    events = default_storage.connection.meta.client.meta.events

    def record(request, **kwargs):
        sent.append((request.method, urlsplit(request.url).query))

    events.register("before-send.s3", record)
    yield sent
    events.unregister("before-send.s3", record)


def test_an_image_is_written_in_one_put_and_read_back_in_one_get(s3, s3_requests):
    from django.core.files.base import ContentFile

    from gallery.storage import storage_read

    data = png(colour=(12, 34, 56))
    key = default_storage.save("originals/one-request/0.png", ContentFile(data))
    written = list(s3_requests)
    body = storage_read(default_storage, key)

    assert written == [("PUT", "")]
    assert s3_requests[len(written) :] == [("GET", "")]
    assert body == data
    head = s3.head_object(Bucket=default_storage.bucket_name, Key=key)
    assert head["ContentType"] == "image/png"


def test_reading_a_missing_object_is_file_not_found(s3):
    from gallery.storage import storage_read

    with pytest.raises(FileNotFoundError):
        storage_read(default_storage, "answers/nobody/0.b64")


def test_a_body_past_the_multipart_threshold_still_goes_through_the_transfer_manager(s3):
    from boto3.s3.transfer import TransferConfig
    from django.core.files.base import ContentFile

    from gallery.storage import PrivateS3Storage

    options = dict(settings_storage_options())
    options["transfer_config"] = TransferConfig(multipart_threshold=1024, use_threads=False)
    storage = PrivateS3Storage(**options)
    sent = []
    storage.connection.meta.client.meta.events.register(
        "before-send.s3", lambda request, **kwargs: sent.append(request.method)
    )
    data = os.urandom(4096)

    storage.save("answers/big/0.bin", ContentFile(data))

    assert sent[0] == "POST"  # CreateMultipartUpload, then the part and the completion
    assert storage.read_bytes("answers/big/0.bin") == data


def settings_storage_options() -> dict:
    from django.conf import settings

    return settings.STORAGES["default"]["OPTIONS"]
