"""Teams and moderation in a real browser, on the live server with the real worker:
consent to join, staff reviewing an image from its page, notifications of the outcome,
role-aware bulk actions, the member list, confirmations and the suspension banner."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from gallery.models import Image
from moderation.services import report_create, user_suspend
from notifications.models import Notification
from teams.models import Membership, Team
from tests.browser.conftest import JOB_TIMEOUT_MS, screenshot
from tests.browser.test_accessibility import BLOCKING, axe_violations, describe, stored_image
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, user) -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()


def expect_accessible(page: Page) -> None:
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, describe(violations)


@pytest.fixture
def mona(db):
    return UserFactory(username="mona", is_staff=True, is_superuser=True)


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Studio North")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.VIEWER)
    return team


# -- issue 10 item 6: consent ----------------------------------------------------------


def test_charlie_accepts_an_invitation_before_he_is_a_member(
    page: Page, live_server, worker, alice, charlie, team
):
    log_in(page, live_server, alice)
    page.goto(live_server.url + reverse("teams:detail", args=[team.id]))
    page.get_by_label("Username").fill("charlie")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Invitation to “charlie” saved as editor")
    expect(page.locator("#team-invitations")).to_contain_text("charlie as editor")
    assert not Membership.objects.filter(team=team, user=charlie).exists()

    log_in(page, live_server, charlie)
    page.goto(live_server.url + reverse("teams:list"))
    invitation = page.locator("#invitations")
    expect(invitation).to_contain_text("Studio North as editor, from alice")
    screenshot(page, "teams-invitation")
    expect_accessible(page)
    invitation.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", name="Studio North")).to_be_visible()
    assert Membership.objects.get(team=team, user=charlie).role == "editor"


# -- issue 16 item 2: staff open what they judge ------------------------------------


def test_staff_open_a_reported_image_from_the_queue_and_hide_it_there(
    page: Page, live_server, worker, alice, bob, mona, team
):
    image = stored_image(alice, "a lighthouse that looks like a logo")
    report_create(reporter=bob, image=image, reason="It copies a brand's logo")
    log_in(page, live_server, mona)
    page.goto(live_server.url + reverse("moderation:queue"))
    page.locator(f"#queue-image-{image.id} a[href$='/gallery/images/{image.id}/']").first.click()
    review = page.locator("#staff-review")
    expect(review).to_contain_text("bob")
    expect(review).to_contain_text("It copies a brand's logo")
    expect_accessible(page)
    review.get_by_label("Decision").select_option("hide")
    review.get_by_label("Reason").fill("Trademark: the logo of a real brand")
    review.get_by_role("button", name="Apply decision").click()
    expect(page.locator(".flash")).to_contain_text("Hide: image")
    expect(page.locator("#staff-review")).to_contain_text("only staff see this image")
    expect(page.get_by_text("Hidden by moderation: Trademark")).to_be_visible()
    screenshot(page, "staff-image-review-hidden")
    assert Image.objects.get(id=image.id).is_hidden
    # Every tile of "Every image" opens too, for staff.
    page.goto(live_server.url + reverse("gallery:everything"))
    page.locator(f"a[href$='/gallery/images/{image.id}/']").first.click()
    expect(page.locator("#staff-review")).to_be_visible()


# -- issue 16 item 10: owners and reporters hear back -------------------------------


def test_the_owner_and_the_reporter_are_told_the_outcome_in_the_app(
    page: Page, live_server, worker, alice, bob, mona, team
):
    # alice makes the image through the studio, the worker and storage.
    log_in(page, live_server, alice)
    page.locator("#id_model").select_option("demo")
    page.locator("#id_prompt").fill("a harbour mural for the team")
    page.locator("#id_prompt").press("Control+Enter")
    card = page.locator(".job-card", has_text="a harbour mural for the team")
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    image = Image.objects.get(prompt="a harbour mural for the team")
    Image.objects.filter(id=image.id).update(team=team)

    log_in(page, live_server, bob)
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    page.get_by_role("link", name="Report").click()
    page.get_by_label("Reason").fill("It shows a real person's face")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator(".flash")).to_contain_text("Staff will review this image")

    log_in(page, live_server, mona)
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    review = page.locator("#staff-review")
    review.get_by_label("Decision").select_option("hide")
    review.get_by_label("Reason").fill("A recognisable face without consent")
    review.get_by_role("button", name="Apply decision").click()
    expect(page.locator("#staff-review")).to_contain_text("only staff see this image")

    log_in(page, live_server, alice)
    badge = page.locator("#nav-notifications .badge")
    expect(badge).to_have_text("1")
    page.locator("#nav-notifications").click()
    notes = page.locator("#notification-list")
    expect(notes).to_contain_text("was hidden by moderation")
    expect(notes).to_contain_text("A recognisable face without consent")
    screenshot(page, "notifications-owner")
    expect_accessible(page)
    expect(page.locator("#nav-notifications .badge")).to_have_count(0)

    log_in(page, live_server, bob)
    expect(page.locator("#nav-notifications .badge")).to_have_text("1")
    page.locator("#nav-notifications").click()
    expect(page.locator("#notification-list")).to_contain_text("staff hid the image")
    assert "without consent" not in page.locator("#notification-list").inner_text()
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


# -- issue 16 item 9: what a role allows, errors in place ---------------------------


def test_a_viewer_is_offered_what_a_viewer_may_do_and_errors_show_in_place(
    page: Page, live_server, worker, alice, bob, team
):
    image = stored_image(alice, "a shared harbour study")
    Image.objects.filter(id=image.id).update(team=team)
    library = live_server.url + reverse("gallery:team_library", args=[team.id])
    log_in(page, live_server, bob)
    page.goto(library)
    actions = page.locator("#bulk-action option")
    expect(actions).to_have_text(["Download as ZIP"])
    expect(page.get_by_label("Tags")).to_have_count(0)
    screenshot(page, "team-library-viewer-actions")

    Membership.objects.filter(team=team, user=bob).update(role=Membership.Role.EDITOR)
    page.goto(library)
    expect(actions).to_have_text(["Download as ZIP", "Tag", "Remove from team"])
    page.get_by_label(f"Select image {image.id}").check()
    page.locator("#bulk-action").select_option("tag")
    page.get_by_role("button", name="Apply").click()
    # The answer lands on the same library page, saying what was missing.
    expect(page).to_have_url(library)
    expect(page.get_by_role("alert")).to_have_text("Give at least one tag.")
    screenshot(page, "team-library-error-in-place")


# -- issue 16 item 14: members, searched --------------------------------------------


def test_staff_find_a_member_by_name_and_open_their_page(
    page: Page, live_server, worker, alice, bob, mona
):
    UserFactory(username="alicia", email="alicia@example.com")
    user_suspend(actor=mona, user=bob, reason="spam")
    log_in(page, live_server, mona)
    page.goto(live_server.url + reverse("moderation:dashboard"))
    page.locator(".staff-nav").get_by_role("link", name="Members").click()
    rows = page.locator("#member-list tbody tr")
    expect(rows).to_have_count(4)  # alice, alicia, bob, mona
    expect(page.locator("#member-list tr", has_text="bob")).to_contain_text("suspended")
    page.get_by_label("Search members").fill("alic")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    screenshot(page, "moderation-members")
    expect_accessible(page)
    page.get_by_role("link", name="alicia").click()
    expect(page.get_by_role("heading", name="alicia")).to_be_visible()


# -- issue 16 item 15 (part): confirmation, suspension ------------------------------


def test_removing_a_member_asks_for_confirmation(page: Page, live_server, worker, alice, bob, team):
    log_in(page, live_server, alice)
    page.goto(live_server.url + reverse("teams:detail", args=[team.id]))
    page.get_by_role("link", name="Remove bob").click()
    expect(page.get_by_role("heading", name="Remove bob from Studio North?")).to_be_visible()
    screenshot(page, "teams-remove-confirmation")
    expect_accessible(page)
    page.get_by_role("link", name="Keep them").click()
    assert Membership.objects.filter(team=team, user=bob).exists()
    page.get_by_role("link", name="Remove bob").click()
    page.get_by_role("button", name="Remove bob").click()
    expect(page.locator(".flash")).to_contain_text("bob is no longer in Studio North")
    assert not Membership.objects.filter(team=team, user=bob).exists()


def test_a_suspended_member_sees_a_banner_and_cannot_report(
    page: Page, live_server, worker, alice, bob, mona, team
):
    image = stored_image(alice, "a shared harbour study")
    Image.objects.filter(id=image.id).update(team=team)
    user_suspend(actor=mona, user=bob, reason="Repeated spam reports")
    log_in(page, live_server, bob)
    banner = page.locator("#suspension-banner")
    expect(banner).to_contain_text("Your account is suspended")
    expect(banner).to_contain_text("Repeated spam reports")
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    expect(page.locator("#suspension-banner")).to_be_visible()
    expect(page.get_by_role("link", name="Report")).to_have_count(0)
    screenshot(page, "suspended-banner")
    page.goto(live_server.url + reverse("moderation:report", args=[image.id]))
    expect(page.get_by_role("alert")).to_have_text(
        "Your account is suspended, so you cannot report images."
    )
    expect(page.get_by_role("button", name="Send report")).to_have_count(0)
