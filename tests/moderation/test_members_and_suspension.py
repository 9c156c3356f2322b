"""Staff find members; suspended members are told so on every page and cannot report."""

from django.urls import reverse

from moderation import services
from moderation.models import ImageReport
from tests.factories import UserFactory


def test_staff_search_members_by_name_or_email(client, staff, alice, bob, charlie):
    UserFactory(username="roberta", email="rb@studio.example")
    client.force_login(staff)
    url = reverse("moderation:members")
    names = lambda **q: [p.username for p in client.get(url, q).context["members"]]  # noqa: E731
    assert names() == ["alice", "bob", "charlie", "roberta", "sam"]
    assert names(q="rob") == ["roberta"]
    assert names(q="studio.example") == ["roberta"]
    assert names(q="nobody") == []


def test_the_member_list_shows_images_reports_and_suspensions(
    client, staff, alice, bob, alices_image
):
    services.report_create(reporter=bob, image=alices_image, reason="spam")
    services.user_suspend(actor=staff, user=bob, reason="abuse")
    client.force_login(staff)
    response = client.get(reverse("moderation:members"))
    rows = {p.username: p for p in response.context["members"]}
    assert (rows["alice"].image_count, rows["alice"].open_reports) == (1, 1)
    assert rows["bob"].is_suspended and not rows["alice"].is_suspended
    assert f'href="{reverse("moderation:member", args=[alice.id])}"' in response.content.decode()
    only = client.get(reverse("moderation:members"), {"suspended": "on"}).context["members"]
    assert [p.username for p in only] == ["bob"]


def test_members_get_404_for_the_member_list(client, alice):
    client.force_login(alice)
    assert client.get(reverse("moderation:members")).status_code == 404


def test_a_suspended_member_sees_a_banner_on_every_page(client, staff, bob):
    services.user_suspend(actor=staff, user=bob, reason="spam wave")
    client.force_login(bob)
    for name in ("jobs:studio", "gallery:list", "teams:list"):
        body = client.get(reverse(name)).content.decode()
        assert 'id="suspension-banner"' in body and "spam wave" in body
    services.user_unsuspend(actor=staff, user=bob, reason="appeal")
    assert 'id="suspension-banner"' not in client.get(reverse("gallery:list")).content.decode()


def test_a_suspended_member_cannot_report(client, staff, alice, bob, alices_image):
    from teams.models import Membership, Team

    team = Team.objects.create(name="Harbour")
    Membership.objects.create(team=team, user=alice, role="owner")
    Membership.objects.create(team=team, user=bob, role="viewer")
    alices_image.team = team
    alices_image.save(update_fields=["team"])
    services.user_suspend(actor=staff, user=bob, reason="spam wave")
    client.force_login(bob)
    page = client.get(reverse("gallery:detail", args=[alices_image.id])).content.decode()
    assert reverse("moderation:report", args=[alices_image.id]) not in page
    url = reverse("moderation:report", args=[alices_image.id])
    response = client.post(url, {"reason": "spite"})
    assert response.status_code == 403
    assert "cannot report images" in response.content.decode()
    assert not ImageReport.objects.exists()


def test_the_report_service_refuses_a_suspended_reporter(staff, alice, bob, alices_image):
    import pytest
    from django.core.exceptions import ValidationError

    services.user_suspend(actor=staff, user=bob, reason="spam wave")
    with pytest.raises(ValidationError):
        services.report_create(reporter=bob, image=alices_image, reason="spite")
