"""Staff open every image page, see its state and its reports, and decide from there."""

import pytest
from django.urls import reverse

from gallery.models import Image
from moderation import services
from moderation.models import ImageReport


@pytest.fixture
def reported(bob, alices_image):
    services.report_create(reporter=bob, image=alices_image, reason="looks like a logo")
    return alices_image


def test_staff_open_any_image_page_with_who_reported_it_and_why(client, staff, reported):
    client.force_login(staff)
    response = client.get(reverse("gallery:detail", args=[reported.id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="staff-review"' in body
    assert "bob" in body and "looks like a logo" in body
    assert "Apply decision" in body
    assert reverse("moderation:report", args=[reported.id]) not in body  # they decide instead
    # Staff judge; they do not edit someone else's image.
    assert not response.context["can"].is_owner
    assert client.get(reverse("gallery:original", args=[reported.id])).status_code == 302


def test_staff_see_a_hidden_image_with_a_banner(client, staff, reported):
    services.image_hide(actor=staff, image=reported, reason="trademark")
    client.force_login(staff)
    body = client.get(reverse("gallery:detail", args=[reported.id])).content.decode()
    assert "Hidden by moderation: trademark" in body
    assert "only staff see this image" in body


def test_staff_hide_and_approve_from_the_image_page(client, staff, reported):
    client.force_login(staff)
    url = reverse("moderation:image_decide", args=[reported.id])
    response = client.post(url, {"action": "hide", "reason": "trademark"})
    assert response["Location"] == reverse("gallery:detail", args=[reported.id])
    reported.refresh_from_db()
    assert reported.is_hidden
    assert ImageReport.objects.get().status == ImageReport.Status.HIDDEN
    client.post(url, {"action": "approve", "reason": "licensed after all"})
    reported.refresh_from_db()
    assert not reported.is_hidden


def test_a_decision_without_a_reason_is_refused_in_place(client, staff, reported):
    client.force_login(staff)
    url = reverse("moderation:image_decide", args=[reported.id])
    response = client.post(url, {"action": "hide", "reason": ""}, follow=True)
    assert "Pick an action and give a reason." in response.content.decode()
    reported.refresh_from_db()
    assert not reported.is_hidden


def test_staff_delete_from_the_image_page_and_land_on_the_queue(client, staff, reported):
    client.force_login(staff)
    url = reverse("moderation:image_decide", args=[reported.id])
    response = client.post(url, {"action": "delete", "reason": "illegal"})
    assert response["Location"] == reverse("moderation:queue")
    assert not Image.objects.filter(id=reported.id).exists()


def test_members_get_404_for_the_staff_decision(client, alice, bob, charlie, reported):
    url = reverse("moderation:image_decide", args=[reported.id])
    for user in (alice, bob, charlie):
        client.force_login(user)
        assert client.post(url, {"action": "hide", "reason": "x"}).status_code == 404
    reported.refresh_from_db()
    assert not reported.is_hidden


def test_owner_and_teammate_see_no_staff_panel_and_stranger_gets_404(
    client, alice, bob, charlie, reported
):
    from teams.models import Membership, Team

    team = Team.objects.create(name="Harbour")
    Membership.objects.create(team=team, user=alice, role="owner")
    Membership.objects.create(team=team, user=bob, role="viewer")
    Image.objects.filter(id=reported.id).update(team=team)
    url = reverse("gallery:detail", args=[reported.id])
    for user in (alice, bob):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert 'id="staff-review"' not in response.content.decode()
        assert "looks like a logo" not in response.content.decode()
    client.force_login(charlie)
    assert client.get(url).status_code == 404


def test_an_inactive_staff_account_sees_nothing_more(client, staff, reported):
    staff.is_active = False
    staff.save()
    client.force_login(staff)
    assert client.get(reverse("gallery:detail", args=[reported.id])).status_code in (302, 404)


def test_queue_thumbnails_link_to_the_image_page(client, staff, reported):
    client.force_login(staff)
    body = client.get(reverse("moderation:queue")).content.decode()
    assert f'href="{reverse("gallery:detail", args=[reported.id])}"' in body
