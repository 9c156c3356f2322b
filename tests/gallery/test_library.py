"""The team asset library: who may see, download and change what, object by object.

Alice owns the images and the team; Bob is in the team (a viewer unless a test
makes him an editor); Charlie is a stranger.
"""

import io
import zipfile

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from gallery.models import Collection, CollectionItem, Favourite, Image
from gallery.services import image_tags_add
from teams.models import Membership
from tests.support import bucket_keys

IMAGE_GETS = ["gallery:detail", "gallery:original", "gallery:thumbnail"]
IMAGE_POSTS = {
    "gallery:edit": {"title": "mine now", "notes": ""},
    "gallery:tags_add": {"tags": "stolen"},
    "gallery:tag_remove": {"name": "hero"},
    "gallery:favourite": {},
    "gallery:share": {},
    "gallery:unshare": {},
    "gallery:collect": {},
    "gallery:delete": {},
}


@pytest.fixture
def team_image(alice, team, make_image):
    image = make_image(alice, "the team's lighthouse", team=team)
    image_tags_add(images=[image], names=["hero"])
    return image


@pytest.fixture
def team_board(team, team_image):
    board = Collection.objects.create(name="Launch", team=team)
    CollectionItem.objects.create(collection=board, image=team_image)
    return board


# Strangers: 404 on every URL of the team's objects.


@pytest.mark.parametrize("name", IMAGE_GETS)
def test_charlie_gets_404_for_a_team_image(client, charlie, team_image, name):
    client.force_login(charlie)
    assert client.get(reverse(name, args=[team_image.id])).status_code == 404


@pytest.mark.parametrize("name", IMAGE_POSTS)
def test_charlie_gets_404_for_changing_a_team_image(client, charlie, team, team_image, name):
    client.force_login(charlie)
    data = {**IMAGE_POSTS[name], "team": team.id}
    assert client.post(reverse(name, args=[team_image.id]), data).status_code == 404
    team_image.refresh_from_db()
    assert team_image.team_id == team.id and team_image.title == ""
    assert list(team_image.tags.values_list("name", flat=True)) == ["hero"]


def test_charlie_gets_404_for_the_team_library_collection_and_team_page(
    client, charlie, team, team_board
):
    client.force_login(charlie)
    assert client.get(reverse("gallery:team_library", args=[team.id])).status_code == 404
    assert client.get(reverse("gallery:collection", args=[team_board.id])).status_code == 404
    assert client.get(reverse("teams:detail", args=[team.id])).status_code == 404
    assert client.get(reverse("gallery:list"), {"collection": team_board.id}).status_code == 404
    for name in ("gallery:collection_delete",):
        assert client.post(reverse(name, args=[team_board.id])).status_code == 404
    remove = reverse("gallery:collection_image_remove", args=[team_board.id, team_board.id])
    assert client.post(remove).status_code == 404
    assert Collection.objects.filter(id=team_board.id).exists()


@pytest.mark.parametrize("action", ["zip", "tag", "collect", "unshare", "delete"])
def test_charlie_gets_404_for_bulk_actions_on_team_images(client, charlie, team_image, action):
    own_board = Collection.objects.create(name="Mine", owner=charlie)
    client.force_login(charlie)
    response = client.post(
        reverse("gallery:bulk"),
        {"action": action, "images": [team_image.id], "tags": "x", "collection": own_board.id},
    )
    assert response.status_code == 404
    assert Image.objects.filter(id=team_image.id, team__isnull=False).exists()
    assert not own_board.items.exists()


def test_charlie_cannot_add_himself_to_alices_team(client, charlie, team):
    client.force_login(charlie)
    url = reverse("teams:detail", args=[team.id])
    assert client.post(url, {"username": "charlie", "role": "owner"}).status_code == 404
    assert not Membership.objects.filter(team=team, user=charlie).exists()


# Viewers look and download.


def test_bob_sees_shared_images_in_the_team_library_not_alices_private_ones(
    client, alice, bob, team, team_image, make_image
):
    make_image(alice, "alice's private sketch")
    client.force_login(bob)
    response = client.get(reverse("gallery:team_library", args=[team.id]))
    assert [image.id for image, _ in response.context["tiles"]] == [team_image.id]
    assert b"private sketch" not in response.content
    assert b"by alice" in response.content


def test_a_viewer_can_open_and_download_a_team_image(client, bob, team_image):
    client.force_login(bob)
    assert client.get(reverse("gallery:detail", args=[team_image.id])).status_code == 200
    response = client.get(reverse("gallery:original", args=[team_image.id]))
    assert response.status_code == 302 and "Signature" in response["Location"]


@pytest.mark.parametrize(
    "name", ["gallery:edit", "gallery:tags_add", "gallery:tag_remove", "gallery:unshare"]
)
def test_a_viewer_cannot_edit_a_team_image(client, bob, team, team_image, name):
    client.force_login(bob)
    response = client.post(reverse(name, args=[team_image.id]), IMAGE_POSTS[name])
    assert response.status_code == 403
    team_image.refresh_from_db()
    assert team_image.team_id == team.id and team_image.title == ""
    assert list(team_image.tags.values_list("name", flat=True)) == ["hero"]


def test_a_viewer_cannot_collect_into_a_team_board_or_delete(client, bob, team_image, team_board):
    team_board.items.all().delete()
    client.force_login(bob)
    collect = reverse("gallery:collect", args=[team_image.id])
    assert client.post(collect, {"collection": team_board.id}).status_code == 403
    assert client.post(reverse("gallery:delete", args=[team_image.id])).status_code == 403
    assert (
        client.post(reverse("gallery:collection_delete", args=[team_board.id])).status_code == 403
    )
    assert not team_board.items.exists()
    assert Image.objects.filter(id=team_image.id).exists()


def test_a_viewer_can_favourite_and_keep_a_team_image_on_a_personal_board(client, bob, team_image):
    board = Collection.objects.create(name="Bob's picks", owner=bob)
    client.force_login(bob)
    client.post(reverse("gallery:favourite", args=[team_image.id]))
    client.post(reverse("gallery:collect", args=[team_image.id]), {"collection": board.id})
    assert Favourite.objects.filter(user=bob, image=team_image).exists()
    assert board.items.filter(image=team_image).exists()


def test_a_viewer_cannot_share_his_images_into_the_team(client, bob, team, make_image):
    bobs = make_image(bob, "bob's")
    client.force_login(bob)
    response = client.post(reverse("gallery:share", args=[bobs.id]), {"team": team.id})
    assert response.status_code == 403
    bobs.refresh_from_db()
    assert bobs.team_id is None


# Editors tag, collect and remove from the team.


def test_an_editor_tags_collects_and_removes_from_the_team(
    client, bob_edits, team, team_image, team_board
):
    other_board = Collection.objects.create(name="Picks", team=team)
    client.force_login(bob_edits)
    client.post(reverse("gallery:tags_add", args=[team_image.id]), {"tags": "Final, print"})
    client.post(reverse("gallery:collect", args=[team_image.id]), {"collection": other_board.id})
    team_image.refresh_from_db()
    assert sorted(team_image.tags.values_list("name", flat=True)) == ["final", "hero", "print"]
    assert team_image.tag_text == "final hero print"
    assert other_board.items.filter(image=team_image).exists()
    response = client.post(reverse("gallery:unshare", args=[team_image.id]))
    assert response.status_code == 302
    team_image.refresh_from_db()
    assert team_image.team_id is None
    # Out of the team means out of the team's boards as well.
    assert not CollectionItem.objects.filter(image=team_image).exists()


def test_an_editor_cannot_retitle_or_delete_alices_image(client, bob_edits, team_image):
    client.force_login(bob_edits)
    edit = reverse("gallery:edit", args=[team_image.id])
    assert client.post(edit, {"title": "bob's now", "notes": ""}).status_code == 403
    assert client.post(reverse("gallery:delete", args=[team_image.id])).status_code == 403


def test_a_removed_member_loses_the_library_at_once(client, alice, bob, team, team_image):
    client.force_login(alice)
    client.post(reverse("teams:member_remove", args=[team.id, bob.id]))
    client.force_login(bob)
    assert client.get(reverse("gallery:detail", args=[team_image.id])).status_code == 404


# Owners.


def test_alice_titles_annotates_and_shares_her_image(client, alice, team, make_image):
    image = make_image(alice, "a harbour")
    client.force_login(alice)
    client.post(
        reverse("gallery:edit", args=[image.id]), {"title": "Harbour", "notes": "for print"}
    )
    client.post(reverse("gallery:share", args=[image.id]), {"team": team.id})
    image.refresh_from_db()
    assert (image.title, image.notes, image.team_id) == ("Harbour", "for print", team.id)


def test_alice_cannot_share_into_a_team_she_is_not_in(client, alice, charlie, make_image):
    from teams.services import team_create

    charlies_team = team_create(user=charlie, name="Charlie's")
    image = make_image(alice, "a harbour")
    client.force_login(alice)
    response = client.post(reverse("gallery:share", args=[image.id]), {"team": charlies_team.id})
    assert response.status_code == 404
    image.refresh_from_db()
    assert image.team_id is None


def test_the_detail_page_shows_everything_about_the_image(client, alice, team_image, team_board):
    client.force_login(alice)
    response = client.get(reverse("gallery:detail", args=[team_image.id]))
    content = response.content.decode()
    for text in (
        "the team&#x27;s lighthouse",
        "size=1024x1024",
        "quality=high",
        "openai via default",
        "gpt-image-1",
        "total_tokens=1234",
        "hero",
        "Launch",
        "Copy prompt",
        reverse("gallery:original", args=[team_image.id]),
        reverse("jobs:job_card", args=[team_image.job_id]),
        f"{reverse('jobs:studio')}?remix={team_image.id}",
    ):
        assert text in content, text


# Listing pages: keyset pages, htmx scrolling, no N+1.


def test_the_gallery_scrolls_with_htmx_from_a_cursor(client, alice, make_image):
    for n in range(50):
        make_image(alice, f"study {n}")
    client.force_login(alice)
    first = client.get(reverse("gallery:list"))
    assert len(first.context["tiles"]) == 48
    next_url = first.context["next_url"]
    assert "cursor=" in next_url and f'hx-get="{next_url}"'.replace("&", "&amp;") in (
        first.content.decode()
    )
    more = client.get(next_url, headers={"HX-Request": "true"})
    assert [t.name for t in more.templates][0] == "gallery/partials/tiles.html"
    assert len(more.context["tiles"]) == 2 and more.context["next_url"] is None


@pytest.mark.parametrize("page", ["list", "team_library", "collection"])
def test_list_pages_run_a_fixed_number_of_queries(
    client, alice, team, make_image, django_assert_max_num_queries, page
):
    board = Collection.objects.create(name="Board", owner=alice)
    for n in range(30):
        image = make_image(alice, f"study {n}", team=team)
        CollectionItem.objects.create(collection=board, image=image)
        Favourite.objects.create(user=alice, image=image)
    url = {
        "list": reverse("gallery:list"),
        "team_library": reverse("gallery:team_library", args=[team.id]),
        "collection": reverse("gallery:collection", args=[board.id]),
    }[page]
    client.force_login(alice)
    # One of them is the top bar's unread count and suspension state (notifications.nav),
    # one the model filter's choices.
    with django_assert_max_num_queries(9):
        response = client.get(url, {"q": "study", "favourite": "on"})
    assert len(response.context["tiles"]) == 30


def test_the_collections_page_lists_personal_and_team_boards_only(
    client, alice, bob, charlie, team, team_board
):
    Collection.objects.create(name="Alice's own", owner=alice)
    Collection.objects.create(name="Charlie's own", owner=charlie)
    client.force_login(bob)
    names = [c.name for c in client.get(reverse("gallery:collections")).context["collections"]]
    assert names == ["Launch"]


def test_an_editor_creates_a_team_collection_the_team_sees(client, alice, bob_edits, team):
    client.force_login(bob_edits)
    response = client.post(reverse("gallery:collections"), {"name": "Launch", "team": team.id})
    board = Collection.objects.get(name="Launch")
    assert response["Location"] == reverse("gallery:collection", args=[board.id])
    assert board.team_id == team.id and board.owner_id is None
    client.force_login(alice)
    assert client.get(reverse("gallery:collection", args=[board.id])).status_code == 200


def test_a_viewer_cannot_create_a_team_collection(client, bob, team):
    client.force_login(bob)
    response = client.post(reverse("gallery:collections"), {"name": "Sneaky", "team": team.id})
    assert response.status_code == 200  # the form refuses a team he cannot edit
    assert not Collection.objects.filter(name="Sneaky").exists()


# Downloads and deletes against the S3 server.


def test_bulk_download_streams_a_zip_of_the_originals(client, alice, stored_image):
    images = [stored_image(alice, f"picture {n}", colour=(n * 40, 0, 0)) for n in range(3)]
    client.force_login(alice)
    response = client.post(
        reverse("gallery:bulk"), {"action": "zip", "images": [i.id for i in images]}
    )
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    chunks = list(response.streaming_content)
    # Written member by member as the response goes out, not assembled first.
    assert len(chunks) >= len(images) + 1
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert sorted(archive.namelist()) == sorted(f"atelier-{i.id}.png" for i in images)
    for image in images:
        data = archive.read(f"atelier-{image.id}.png")
        assert len(data) == image.bytes


def test_bulk_download_of_a_selection_with_a_hidden_image_is_a_404(client, alice, stored_image):
    shown = stored_image(alice, "shown")
    hidden = stored_image(alice, "hidden", colour=(1, 2, 3))
    Image.objects.filter(id=hidden.id).update(is_hidden=True)
    client.force_login(alice)
    response = client.post(
        reverse("gallery:bulk"), {"action": "zip", "images": [shown.id, hidden.id]}
    )
    assert response.status_code == 404


def test_deleting_an_image_removes_its_stored_objects(client, alice, s3, stored_image):
    image = stored_image(alice)
    assert len(bucket_keys(s3)) == 2
    client.force_login(alice)
    response = client.post(reverse("gallery:delete", args=[image.id]))
    assert response.status_code == 302
    assert not Image.objects.filter(id=image.id).exists()
    assert bucket_keys(s3) == []


def test_bulk_delete_removes_every_stored_object_and_nothing_of_others(
    client, alice, bob, s3, stored_image
):
    mine = [stored_image(alice, f"mine {n}", colour=(n, n, n)) for n in range(3)]
    bobs = stored_image(bob, "bob's")
    client.force_login(alice)
    response = client.post(
        reverse("gallery:bulk"), {"action": "delete", "images": [i.id for i in mine]}
    )
    assert response.status_code == 302
    assert not Image.objects.filter(owner=alice).exists()
    assert bucket_keys(s3) == sorted([bobs.original_key, bobs.thumbnail_key])


def test_bulk_delete_of_a_team_image_by_a_teammate_says_it_is_not_his(
    client, alice, bob_edits, team, s3, stored_image
):
    image = stored_image(alice)
    Image.objects.filter(id=image.id).update(team=team)
    client.force_login(bob_edits)
    library = reverse("gallery:team_library", args=[team.id])
    response = client.post(
        reverse("gallery:bulk"), {"action": "delete", "images": [image.id], "next": library}
    )
    assert response.status_code == 302 and response["Location"] == library
    page = client.get(library).content.decode()
    assert "Only an image&#x27;s owner can delete it" in page
    assert len(bucket_keys(s3)) == 2


def test_bulk_tag_share_and_collect(client, alice, team, make_image):
    images = [make_image(alice, f"study {n}") for n in range(3)]
    board = Collection.objects.create(name="Board", owner=alice)
    ids = [i.id for i in images]
    client.force_login(alice)
    bulk = reverse("gallery:bulk")
    client.post(bulk, {"action": "tag", "images": ids, "tags": "draft"})
    client.post(bulk, {"action": "share", "images": ids, "team": team.id})
    client.post(bulk, {"action": "collect", "images": ids, "collection": board.id})
    assert set(Image.objects.filter(tags__name="draft").values_list("id", flat=True)) == set(ids)
    assert set(Image.objects.filter(team=team).values_list("id", flat=True)) == set(ids)
    assert set(board.items.values_list("image_id", flat=True)) == set(ids)


def test_hidden_images_are_404_for_their_owner_and_team(
    client, alice, bob, team_image, django_user_model
):
    Image.objects.filter(id=team_image.id).update(is_hidden=True)
    for user in (alice, bob):
        client.force_login(user)
        for name in IMAGE_GETS:
            assert client.get(reverse(name, args=[team_image.id])).status_code == 404
    staff = django_user_model.objects.create(username="moderator", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("gallery:everything"), {"q": "lighthouse"})
    assert [image.id for image, _ in response.context["tiles"]] == [team_image.id]
