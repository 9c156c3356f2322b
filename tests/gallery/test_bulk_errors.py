"""A refused bulk action names each image it refused and why, and changes nothing
(gallery.views.bulk, gallery.selectors.image_refusals)."""

from django.contrib.messages import get_messages
from django.urls import reverse

from gallery.models import Collection, CollectionItem, Image
from teams.models import Membership, Team


def bulk_error(client, data) -> str:
    response = client.post(reverse("gallery:bulk"), data)
    assert response.status_code == 302
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    return str(message)


def test_a_viewer_tagging_is_told_which_images_and_why(client, alice, bob, team, make_image):
    lighthouse = make_image(alice, "a lighthouse in fog", team=team)
    kite = make_image(alice, "a red kite above the dunes", team=team)
    own = make_image(bob, "bob's own harbour")
    client.force_login(bob)
    message = bulk_error(
        client, {"action": "tag", "images": [lighthouse.id, kite.id, own.id], "tags": "x"}
    )
    assert message == (
        "Tagging needs your own image or the editor role in its team: you cannot do that to"
        " 2 of the 3 selected. Nothing was changed. "
        f"“a red kite above the dunes” (image {kite.id}): alice owns it and you are a viewer"
        f" in Studio North; “a lighthouse in fog” (image {lighthouse.id}): alice owns it and"
        " you are a viewer in Studio North."
    )
    assert Image.objects.get(id=own.id).tag_text == ""


def test_an_editor_deleting_is_told_who_owns_each_image(client, alice, bob_edits, team, make_image):
    image = make_image(alice, "a lighthouse in fog", team=team)
    client.force_login(bob_edits)
    message = bulk_error(client, {"action": "delete", "images": [image.id]})
    assert message.endswith(f"“a lighthouse in fog” (image {image.id}): alice owns it.")
    assert Image.objects.filter(id=image.id).exists()


def test_only_the_first_five_refused_images_are_named(client, alice, bob, team, make_image):
    images = [make_image(alice, f"study {n}", team=team) for n in range(7)]
    client.force_login(bob)
    message = bulk_error(client, {"action": "delete", "images": [i.id for i in images]})
    assert "you cannot do that to 7 of the 7 selected" in message
    assert message.count("alice owns it") == 5
    assert message.endswith("; and 2 more.")


def test_a_team_collection_refuses_images_not_shared_with_it_by_name(
    client, alice, bob, team, make_image
):
    south = Team.objects.create(name="Studio South")
    Membership.objects.create(team=south, user=alice, role=Membership.Role.OWNER)
    board = Collection.objects.create(name="South board", team=south)
    bobs = make_image(bob, "bob's lighthouse", team=team)
    mine = make_image(alice, "alice's harbour")
    client.force_login(alice)
    message = bulk_error(
        client, {"action": "collect", "images": [bobs.id, mine.id], "collection": board.id}
    )
    assert message == (
        "A team collection only holds images shared with the team: 1 of the 2 selected are"
        " not. Nothing was changed. "
        f"“bob's lighthouse” (image {bobs.id}): bob owns it and it is not shared with"
        " Studio South."
    )
    assert not CollectionItem.objects.exists()
    mine.refresh_from_db()
    assert mine.team_id is None, "alice's own image was not shared on the way"
