"""Owners hear when moderation hides or deletes their image; reporters hear the outcome."""

import pytest
from django.urls import reverse

from moderation import services
from notifications.models import Notification


@pytest.fixture
def reported(bob, charlie, alices_image):
    services.report_create(reporter=bob, image=alices_image, reason="spam")
    services.report_create(reporter=charlie, image=alices_image, reason="spam too")
    return alices_image


def kinds(user):
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


def test_the_owner_is_told_when_her_image_is_hidden_with_the_reason(staff, alice, reported):
    services.image_hide(actor=staff, image=reported, reason="trademark")
    [note] = Notification.objects.filter(user=alice)
    assert note.kind == Notification.Kind.IMAGE_HIDDEN
    assert "was hidden by moderation" in note.message and "trademark" in note.message


def test_each_reporter_hears_the_outcome_but_not_the_staff_reason(
    staff, alice, bob, charlie, reported
):
    services.image_hide(actor=staff, image=reported, reason="owner's third strike")
    for reporter in (bob, charlie):
        [note] = Notification.objects.filter(user=reporter)
        assert note.kind == Notification.Kind.REPORT_DECIDED
        assert "staff hid the image" in note.message
        assert "third strike" not in note.message


def test_approving_tells_reporters_it_was_kept_and_the_owner_only_if_it_was_hidden(
    staff, alice, bob, reported
):
    services.image_approve(actor=staff, image=reported, reason="fine")
    assert kinds(alice) == []
    assert "kept it" in Notification.objects.get(user=bob).message
    services.image_hide(actor=staff, image=reported, reason="second look")
    services.image_approve(actor=staff, image=reported, reason="fine after all")
    assert kinds(alice)[0] == Notification.Kind.IMAGE_RESTORED


def test_the_owner_is_told_when_her_image_is_deleted(staff, alice, bob, reported):
    services.image_delete(actor=staff, image=reported, reason="illegal")
    assert kinds(alice) == [Notification.Kind.IMAGE_DELETED]
    assert Notification.objects.get(user=bob).url == ""


def test_hiding_all_of_a_members_images_tells_them_once(staff, alice, make_image):
    make_image(alice)
    make_image(alice, prompt="another")
    services.user_images_hide(actor=staff, user=alice, reason="spam wave")
    [note] = Notification.objects.filter(user=alice)
    assert "hid 2 of your images" in note.message


def test_the_nav_shows_a_badge_until_the_list_is_read(client, staff, alice, reported):
    services.image_hide(actor=staff, image=reported, reason="trademark")
    client.force_login(alice)
    studio = client.get(reverse("gallery:list")).content.decode()
    assert 'aria-label="1 unread"' in studio
    page = client.get(reverse("notifications:list")).content.decode()
    assert "trademark" in page and "New:" in page
    assert 'aria-label="1 unread"' not in client.get(reverse("gallery:list")).content.decode()


def test_nobody_reads_anyone_elses_notifications(client, staff, bob, charlie, reported):
    services.image_hide(actor=staff, image=reported, reason="trademark")
    client.force_login(charlie)
    page = client.get(reverse("notifications:list"))
    assert [n.user_id for n in page.context["notifications"]] == [charlie.id]
    assert Notification.objects.get(user=bob).read_at is None
