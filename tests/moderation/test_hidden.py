"""A hidden image vanishes for everyone but staff: listings, pages, files, reports."""

import pytest
from django.urls import reverse

from moderation import services


@pytest.fixture
def hidden(staff, alices_image):
    services.image_hide(actor=staff, image=alices_image, reason="reported twice")
    alices_image.refresh_from_db()
    return alices_image


@pytest.mark.parametrize("person", ["alice", "charlie"])
def test_a_hidden_image_is_absent_from_the_gallery_list(client, request, hidden, person):
    client.force_login(request.getfixturevalue(person))
    response = client.get(reverse("gallery:list"))
    assert response.status_code == 200
    assert response.context["tiles"] == []
    body = response.content.decode()
    assert reverse("gallery:detail", args=[hidden.id]) not in body
    assert "lighthouse at dusk" not in body


@pytest.mark.parametrize("person", ["alice", "charlie"])
@pytest.mark.parametrize(
    "name", ["gallery:detail", "gallery:original", "gallery:thumbnail", "moderation:report"]
)
def test_every_url_of_a_hidden_image_is_404(client, request, hidden, person, name):
    client.force_login(request.getfixturevalue(person))
    assert client.get(reverse(name, args=[hidden.id])).status_code == 404


def test_alices_other_images_stay_visible(client, alice, make_image, hidden):
    kept = make_image(alice, prompt="a kept meadow")
    client.force_login(alice)
    tiles = client.get(reverse("gallery:list")).context["tiles"]
    assert [image.id for image, _ in tiles] == [kept.id]
    assert client.get(reverse("gallery:detail", args=[kept.id])).status_code == 200


def test_staff_still_see_a_hidden_image_in_the_queue(client, staff, alice, hidden):
    services.report_create(reporter=alice, image=hidden, reason="x")
    client.force_login(staff)
    response = client.get(reverse("moderation:queue") + "?all=1")
    assert [image.id for image, _ in response.context["tiles"]] == [hidden.id]
    assert "reported twice" in response.content.decode()
