"""A hidden image vanishes for everyone but staff: listings, pages, files, reports."""

import pytest
from django.urls import reverse

from gallery import services as gallery_services
from moderation import services
from teams.models import Membership, Team


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


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Harbour")
    Membership.objects.create(team=team, user=alice, role="owner")
    Membership.objects.create(team=team, user=bob, role="viewer")
    return team


def tile_ids(response):
    return [image.id for image, _ in response.context["tiles"]]


def test_a_shared_image_leaves_the_team_library_when_hidden(
    client, staff, alice, bob, team, alices_image
):
    gallery_services.image_share(user=alice, images=[alices_image], team=team)
    url = reverse("gallery:team_library", args=[team.id])
    client.force_login(bob)
    assert tile_ids(client.get(url)) == [alices_image.id]
    assert client.get(reverse("gallery:detail", args=[alices_image.id])).status_code == 200
    services.image_hide(actor=staff, image=alices_image, reason="reported")
    assert tile_ids(client.get(url)) == []
    assert client.get(reverse("gallery:detail", args=[alices_image.id])).status_code == 404


def test_a_hidden_image_leaves_collections_and_search(client, staff, alice, alices_image):
    collection = gallery_services.collection_create(user=alice, name="Lights")
    gallery_services.collection_add(user=alice, collection=collection, images=[alices_image])
    collection_url = reverse("gallery:collection", args=[collection.id])
    search_url = reverse("gallery:list") + "?q=lighthouse"
    client.force_login(alice)
    assert tile_ids(client.get(collection_url)) == [alices_image.id]
    assert tile_ids(client.get(search_url)) == [alices_image.id]
    services.image_hide(actor=staff, image=alices_image, reason="reported")
    assert tile_ids(client.get(collection_url)) == []
    assert tile_ids(client.get(search_url)) == []


def test_a_hidden_image_cannot_be_downloaded_in_a_zip(client, alice, hidden):
    client.force_login(alice)
    response = client.post(reverse("gallery:bulk"), {"action": "zip", "images": [hidden.id]})
    assert response.status_code == 404
