"""axe-core on every main page, logged in as the person who would see it.

axe-core comes from the npm registry, pinned in package-lock.json; ``make test`` installs it with
``npm ci`` before pytest runs, and the page gets the file's text, so nothing downloads here.
"""

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from gallery.services import collection_create, image_store, image_tags_add
from jobs.models import GenerationJob
from moderation.services import report_create
from teams.models import Membership, Team
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, UserFactory
from tests.gallery.conftest import png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The impacts that fail the build; moderate and minor ones are reported in the message only.
BLOCKING = ("critical", "serious")


def axe_violations(page: Page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test` (its install step runs `npm ci`).")
    page.add_script_tag(content=AXE.read_text())
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
                count: v.nodes.length,
            }));
        }"""
    )


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']}×, e.g. {v['targets']})"
        for v in violations
    )


def log_in(page: Page, live_server, user) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()


def stored_image(owner, prompt, colour=(10, 120, 200)):
    job = GenerationJob.objects.create(
        owner=owner,
        provider="openai",
        connection="default",
        model="gpt-image-1.5",
        prompt=prompt,
        params={"size": "1024x1024"},
        status=GenerationJob.Status.SUCCEEDED,
    )
    return image_store(job=job, index=0, data=png(colour=colour))


@pytest.fixture
def world(s3, alice, bob):
    """alice's images, tags, a team and a collection; bob reported one; mona moderates."""
    mona = UserFactory(username="mona", is_staff=True, is_superuser=True)
    first = stored_image(alice, prompt="a lighthouse in fog over a quiet harbour")
    stored_image(alice, prompt="a red kite above the dunes", colour=(200, 40, 40))
    image_tags_add(images=[first], names=["coast"])
    team = Team.objects.create(name="Studio North")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.VIEWER)
    first.team = team
    first.save(update_fields=["team"])
    collection = collection_create(user=alice, name="Coastlines")
    collection.items.create(image=first)
    report = report_create(reporter=bob, image=first, reason="Looks like someone's photo")
    return {
        "alice": alice,
        "mona": mona,
        "image": first,
        "team": team,
        "collection": collection,
        "report": report,
    }


PAGES = {
    # name: (who looks, how to build the address)
    "studio": ("alice", lambda w: reverse("jobs:studio")),
    "gallery": ("alice", lambda w: reverse("gallery:list")),
    "gallery-filtered": ("alice", lambda w: reverse("gallery:list") + "?q=lighthouse&tag=coast"),
    "image": ("alice", lambda w: reverse("gallery:detail", args=[w["image"].id])),
    "collections": ("alice", lambda w: reverse("gallery:collections")),
    "collection": ("alice", lambda w: reverse("gallery:collection", args=[w["collection"].id])),
    "mask-editor": ("alice", lambda w: reverse("jobs:image_edit", args=[w["image"].id])),
    "teams": ("alice", lambda w: reverse("teams:list")),
    "team": ("alice", lambda w: reverse("teams:detail", args=[w["team"].id])),
    "team-library": ("alice", lambda w: reverse("gallery:team_library", args=[w["team"].id])),
    "usage": ("alice", lambda w: reverse("moderation:usage")),
    "report": ("alice", lambda w: reverse("moderation:report", args=[w["image"].id])),
    "everything": ("mona", lambda w: reverse("gallery:everything")),
    "moderation-queue": ("mona", lambda w: reverse("moderation:queue")),
    "moderation-dashboard": ("mona", lambda w: reverse("moderation:dashboard")),
    "moderation-member": ("mona", lambda w: reverse("moderation:member", args=[w["alice"].id])),
    "moderation-members": ("mona", lambda w: reverse("moderation:members")),
    "staff-image": ("mona", lambda w: reverse("gallery:detail", args=[w["image"].id])),
    "notifications": ("alice", lambda w: reverse("notifications:list")),
    "admin": ("mona", lambda w: reverse("admin:index")),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_critical_or_serious_violation_on(name, page: Page, live_server, world):
    who, address = PAGES[name]
    log_in(page, live_server, world[who])
    response = page.goto(live_server.url + address(world))
    assert response is not None and response.ok, f"{name}: HTTP {response and response.status}"
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{name} has blocking violations:\n{describe(violations)}"


def test_axe_finds_nothing_on_the_login_page(page: Page, live_server, db):
    page.goto(live_server.url + reverse("login"))
    violations = axe_violations(page)
    assert not [v for v in violations if v["impact"] in BLOCKING], describe(violations)


# The pages where the issue found moderate and minor problems (unlabelled search box,
# unnamed navigation landmarks, alt text repeating the caption, an empty table header):
# these must have no violation of any impact.
SPOTLESS = {
    "alice": ("gallery", "collection", "team-library", "team"),
    "mona": ("everything", "moderation-queue", "moderation-dashboard"),
}


@pytest.mark.parametrize("who", list(SPOTLESS))
def test_the_pages_the_issue_named_have_no_violations_at_all(who, page: Page, live_server, world):
    log_in(page, live_server, world[who])
    for name in SPOTLESS[who]:
        page.goto(live_server.url + PAGES[name][1](world))
        violations = axe_violations(page)
        assert not violations, f"{name}:\n{describe(violations)}"
        if name == "gallery":
            expect(page.get_by_role("searchbox", name="Search images")).to_be_visible()
            screenshot(page, "gallery-accessible")
