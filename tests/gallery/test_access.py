"""Who may see what: owners see their images, everyone else gets 404."""

import io

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image as PILImage

from gallery.services import image_store
from jobs.models import GenerationJob


def png(width=64, height=64):
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def alices_image(alice, s3):
    job = GenerationJob.objects.create(
        owner=alice,
        provider="demo",
        connection="demo",
        model="demo",
        prompt="alice's secret garden",
        params={},
    )
    return image_store(job=job, index=0, data=png())


def test_it_lists_only_the_owners_images(client, alice, bob, alices_image):
    client.force_login(alice)
    assert [i.id for i, _ in client.get(reverse("gallery:list")).context["tiles"]] == [
        alices_image.id
    ]
    client.force_login(bob)
    response = client.get(reverse("gallery:list"))
    assert response.context["tiles"] == []
    assert b"secret garden" not in response.content


@pytest.mark.parametrize("name", ["gallery:detail", "gallery:original", "gallery:thumbnail"])
def test_charlie_gets_404_for_alices_image(client, charlie, alices_image, name):
    client.force_login(charlie)
    assert client.get(reverse(name, args=[alices_image.id])).status_code == 404


@pytest.mark.parametrize("name", ["gallery:original", "gallery:thumbnail"])
def test_alice_is_redirected_to_a_short_lived_presigned_link(client, alice, alices_image, name):
    client.force_login(alice)
    response = client.get(reverse(name, args=[alices_image.id]))
    assert response.status_code == 302
    assert "X-Amz-Expires=300" in response["Location"]
    assert "X-Amz-Signature=" in response["Location"]


def test_anonymous_visitors_are_sent_to_log_in(client, alices_image):
    response = client.get(reverse("gallery:detail", args=[alices_image.id]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_gallery_lists_without_n_plus_one(
    client, alice, alices_image, django_assert_max_num_queries
):
    job = alices_image.job
    for index in range(1, 6):
        image_store(job=job, index=index, data=png())
    client.force_login(alice)
    # One of them is the top bar's unread count and suspension state (notifications.nav),
    # one the model filter's choices.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("gallery:list"))
    assert len(response.context["tiles"]) == 6


def test_local_storage_links_are_signed_and_expire(client, alice, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "gallery.storage.SignedFileSystemStorage",
            "OPTIONS": {"location": tmp_path, "allow_overwrite": True},
        },
    }
    default_storage.save("originals/x/0.png", io.BytesIO(png()))
    url = default_storage.url("originals/x/0.png")
    assert client.get(url).status_code == 200
    assert client.get(url[:-3] + "abc").status_code == 404
    assert client.get(reverse("gallery:media") + "?t=originals/x/0.png").status_code == 404
    settings.SIGNED_URL_MAX_AGE = -1
    assert client.get(url).status_code == 404
