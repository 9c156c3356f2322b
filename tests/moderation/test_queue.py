"""Members report images; staff approve, hide or delete them from the queue, with a reason."""

import pytest
from django.urls import reverse

from gallery.models import Image
from moderation import services
from moderation.models import AuditEntry, ImageReport
from tests.support import bucket_keys


@pytest.fixture
def reported(alice, alices_image):
    services.report_create(reporter=alice, image=alices_image, reason="first")
    return alices_image


def test_alice_reports_her_image_with_a_reason(client, alice, alices_image):
    client.force_login(alice)
    url = reverse("moderation:report", args=[alices_image.id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "It shows a real person's face"})
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:detail", args=[alices_image.id])
    report = ImageReport.objects.get()
    assert (report.image, report.reporter, report.status) == (alices_image, alice, "open")
    assert report.reason == "It shows a real person's face"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.reason) == (alice, "report.create", report.reason)


def test_a_report_needs_a_reason(client, alice, alices_image):
    client.force_login(alice)
    response = client.post(reverse("moderation:report", args=[alices_image.id]), {"reason": ""})
    assert response.status_code == 400
    assert ImageReport.objects.count() == 0


def test_the_queue_shows_thumbnail_prompt_owner_and_reports(
    client, staff, alice, reported, django_assert_max_num_queries
):
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("moderation:queue"))
    body = response.content.decode()
    assert f'id="queue-image-{reported.id}"' in body
    assert "alice&#x27;s lighthouse at dusk" in body
    assert reverse("moderation:member", args=[alice.id]) in body
    assert "first" in body
    # The thumbnail, through a short-lived signed link.
    assert reported.thumbnail_key in body and "Signature=" in body


def test_the_queue_lists_without_n_plus_one(
    client, staff, alice, bob, make_image, django_assert_max_num_queries
):
    for index in range(6):
        image = make_image(bob, prompt=f"tile {index}")
        services.report_create(reporter=alice, image=image, reason="spam")
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("moderation:queue"))
    assert len(response.context["tiles"]) == 6


def decide(client, images, action, reason="breaks rule 3"):
    return client.post(
        reverse("moderation:queue_decide"),
        {"images": [i.id for i in images], "action": action, "reason": reason},
    )


def test_staff_hide_reported_images_in_bulk(client, staff, alice, bob, make_image, reported):
    other = make_image(bob, prompt="bob's harbour")
    client.force_login(staff)
    assert decide(client, [reported, other], "hide").status_code == 302
    for image in (reported, other):
        image.refresh_from_db()
        assert image.is_hidden and image.hidden_reason == "breaks rule 3"
    report = ImageReport.objects.get()
    assert (report.status, report.resolved_by, report.resolution_reason) == (
        "hidden",
        staff,
        "breaks rule 3",
    )
    actions = sorted(AuditEntry.objects.filter(actor=staff).values_list("action", "target_id"))
    assert actions == sorted([("image.hide", str(reported.id)), ("image.hide", str(other.id))])


def test_staff_approve_keeps_the_image_and_closes_its_reports(client, staff, reported):
    client.force_login(staff)
    decide(client, [reported], "approve", reason="fine art")
    reported.refresh_from_db()
    assert not reported.is_hidden
    assert ImageReport.objects.get().status == "approved"
    assert client.get(reverse("moderation:queue")).context["tiles"] == []
    assert AuditEntry.objects.filter(action="image.approve", reason="fine art").count() == 1


def test_staff_delete_removes_the_row_and_both_stored_objects(client, staff, s3, reported):
    keys = sorted([reported.original_key, reported.thumbnail_key])
    assert bucket_keys(s3) == keys
    client.force_login(staff)
    decide(client, [reported], "delete", reason="illegal content")
    assert not Image.objects.filter(id=reported.id).exists()
    assert bucket_keys(s3) == []
    report = ImageReport.objects.get()
    assert (report.image, report.status) == (None, "deleted")
    entry = AuditEntry.objects.get(action="image.delete")
    assert (entry.actor, entry.reason) == (staff, "illegal content")
    assert entry.target_id == str(reported.id)
    assert entry.detail["original_key"] == reported.original_key


def test_a_decision_without_a_reason_changes_nothing(client, staff, reported):
    client.force_login(staff)
    decide(client, [reported], "hide", reason="")
    reported.refresh_from_db()
    assert not reported.is_hidden
    assert ImageReport.objects.get().status == "open"
