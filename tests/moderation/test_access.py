"""Moderation pages and actions are for staff only; everyone else learns nothing."""

import pytest
from django.urls import reverse

from moderation.models import AuditEntry, BlockedTerm, ImageReport, Suspension

STAFF_GETS = ["moderation:queue", "moderation:dashboard"]
STAFF_POSTS = ["moderation:queue_decide"]
MEMBER_GETS = ["moderation:member"]
MEMBER_POSTS = [
    "moderation:member_suspend",
    "moderation:member_unsuspend",
    "moderation:member_hide_images",
]
ADMIN_PAGES = [
    "admin:moderation_blockedterm_changelist",
    "admin:moderation_blockedterm_add",
    "admin:moderation_quota_changelist",
    "admin:moderation_imagereport_changelist",
    "admin:moderation_suspension_changelist",
    "admin:moderation_moderationevent_changelist",
    "admin:moderation_auditentry_changelist",
    "admin:moderation_teamquota_changelist",
    "admin:admin_logentry_changelist",
]


def staff_urls(target):
    urls = [("get", reverse(name)) for name in STAFF_GETS]
    urls += [("post", reverse(name)) for name in STAFF_POSTS]
    urls += [("get", reverse(name, args=[target.id])) for name in MEMBER_GETS]
    urls += [("post", reverse(name, args=[target.id])) for name in MEMBER_POSTS]
    return urls


def test_charlie_gets_404_from_every_staff_page_and_action(client, alice, charlie, alices_image):
    client.force_login(charlie)
    for method, url in staff_urls(alice):
        data = {"images": [alices_image.id], "action": "delete", "reason": "x", "hide_images": "on"}
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        assert response.status_code == 404, url
    alices_image.refresh_from_db()
    assert not alices_image.is_hidden
    assert Suspension.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_alice_cannot_suspend_herself_or_hide_her_reports(client, alice, alices_image):
    client.force_login(alice)
    for method, url in staff_urls(alice):
        response = client.post(url, {"reason": "x"}) if method == "post" else client.get(url)
        assert response.status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(client, alice, alices_image):
    urls = staff_urls(alice) + [
        ("get", reverse("moderation:usage")),
        ("post", reverse("moderation:report", args=[alices_image.id])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"]


def test_non_staff_are_sent_to_the_admin_login(client, charlie):
    client.force_login(charlie)
    for name in ADMIN_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert "/admin/login/" in response["Location"]


def test_staff_reach_every_page(client, staff, alice, alices_image):
    client.force_login(staff)
    for method, url in staff_urls(alice):
        if method == "get":
            assert client.get(url).status_code == 200, url
    for name in ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_the_audit_log_and_reports_are_read_only_even_for_superusers(client, staff, alice):
    entry = AuditEntry.objects.create(
        actor=staff, action="user.suspend", target_type="auth.user", target_id=str(alice.id)
    )
    client.force_login(staff)
    assert client.get(reverse("admin:moderation_auditentry_add")).status_code == 403
    change = reverse("admin:moderation_auditentry_change", args=[entry.id])
    assert client.get(change).status_code == 200  # view only
    assert client.post(change, {"action": "edited"}).status_code == 403
    delete = reverse("admin:moderation_auditentry_delete", args=[entry.id])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "user.suspend"
    assert client.get(reverse("admin:moderation_imagereport_add")).status_code == 403


@pytest.mark.parametrize("kind", ["word", "regex"])
def test_staff_edits_to_the_blocklist_are_audited(client, staff, kind):
    client.force_login(staff)
    response = client.post(
        reverse("admin:moderation_blockedterm_add"),
        {"kind": kind, "pattern": "gore", "note": "house rules", "is_active": "on"},
    )
    assert response.status_code == 302
    term = BlockedTerm.objects.get()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_id) == (staff, "blockedterm.add", str(term.id))


def test_a_broken_regex_is_refused_in_the_admin(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("admin:moderation_blockedterm_add"),
        {"kind": "regex", "pattern": "(unclosed", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Not a valid regular expression" in response.content.decode()
    assert BlockedTerm.objects.count() == 0


def test_report_form_is_404_for_images_charlie_cannot_see(client, charlie, alices_image):
    client.force_login(charlie)
    url = reverse("moderation:report", args=[alices_image.id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "spam"}).status_code == 404
    assert ImageReport.objects.count() == 0


def test_staff_set_a_quota_in_the_admin_and_it_is_audited(client, staff, alice):
    client.force_login(staff)
    response = client.post(
        reverse("admin:moderation_quota_add"),
        {"user": alice.id, "daily_images": "5", "monthly_spend_usd": "", "jobs_per_minute": ""},
    )
    assert response.status_code == 302
    assert alice.quota.daily_images == 5
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (
        staff,
        "quota.add",
        {"fields": ["user", "daily_images"]},
    )


def test_staff_lift_a_suspension_and_hide_images_from_the_member_page(
    client, staff, alice, alices_image
):
    client.force_login(staff)
    client.post(reverse("moderation:member_suspend", args=[alice.id]), {"reason": "spam"})
    assert Suspension.objects.get(user=alice).lifted_at is None
    client.post(reverse("moderation:member_unsuspend", args=[alice.id]), {"reason": "appeal"})
    assert Suspension.objects.get(user=alice).lifted_at is not None
    client.post(reverse("moderation:member_hide_images", args=[alice.id]), {"reason": "cleanup"})
    alices_image.refresh_from_db()
    assert (alices_image.is_hidden, alices_image.hidden_reason) == (True, "cleanup")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "reason"))
    assert actions == [
        ("user.suspend", "spam"),
        ("user.unsuspend", "appeal"),
        ("user.hide_images", "cleanup"),
    ]
    dashboard = client.get(reverse("moderation:dashboard")).content.decode()
    assert "user.hide_images" in dashboard and "cleanup" in dashboard
