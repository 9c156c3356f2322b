"""Team members are offered the bulk actions their role allows, and told in place why
an action did not apply; outsiders still get 404."""

import pytest
from django.urls import reverse

from gallery.models import Collection, Image


@pytest.fixture
def team_image(alice, team, make_image):
    return make_image(alice, "a shared lighthouse", team=team)


def offered(client, url) -> list[str]:
    return [value for value, _ in client.get(url).context["bulk_actions"]]


def test_a_viewer_is_offered_only_download_and_collect(client, bob, team, team_image):
    Collection.objects.create(name="Bob's board", owner=bob)
    client.force_login(bob)
    library = reverse("gallery:team_library", args=[team.id])
    assert offered(client, library) == ["zip", "collect"]
    body = client.get(library).content.decode()
    assert 'value="tag"' not in body and 'value="delete"' not in body
    assert 'name="tags"' not in body


def test_an_editor_is_offered_tag_and_remove_from_team(client, bob_edits, team, team_image):
    client.force_login(bob_edits)
    library = reverse("gallery:team_library", args=[team.id])
    assert offered(client, library) == ["zip", "tag", "unshare"]
    Collection.objects.create(name="Team board", team=team)
    assert offered(client, library) == ["zip", "collect", "tag", "unshare"]


def test_the_owner_is_offered_everything_in_her_own_gallery(client, alice, team, team_image):
    client.force_login(alice)
    assert offered(client, reverse("gallery:list")) == ["zip", "tag", "share", "unshare", "delete"]
    Collection.objects.create(name="Alice's board", owner=alice)
    assert "collect" in offered(client, reverse("gallery:list"))


@pytest.mark.parametrize("action", ["tag", "delete", "unshare", "share"])
def test_a_viewer_forcing_an_action_is_told_why_in_place(client, bob, team, team_image, action):
    client.force_login(bob)
    library = reverse("gallery:team_library", args=[team.id])
    response = client.post(
        reverse("gallery:bulk"),
        {
            "action": action,
            "images": [team_image.id],
            "tags": "x",
            "team": team.id,
            "next": library,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == library
    body = response.content.decode()
    assert 'class="flash error" role="alert"' in body
    assert "Nothing was changed." in body
    team_image.refresh_from_db()
    assert team_image.team_id == team.id and team_image.tag_text == ""


def test_a_bulk_request_without_images_says_so(client, bob, team):
    client.force_login(bob)
    library = reverse("gallery:team_library", args=[team.id])
    response = client.post(reverse("gallery:bulk"), {"action": "zip", "next": library}, follow=True)
    assert "Select at least one image first." in response.content.decode()


def test_charlie_still_gets_404_for_images_he_cannot_see(client, charlie, team_image):
    client.force_login(charlie)
    response = client.post(reverse("gallery:bulk"), {"action": "zip", "images": [team_image.id]})
    assert response.status_code == 404
    assert Image.objects.filter(id=team_image.id, team__isnull=False).exists()
