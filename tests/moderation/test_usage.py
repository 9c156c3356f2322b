"""Spend per user, team and month, shown to the people concerned and to staff."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from gallery.services import image_store
from jobs.models import GenerationJob
from moderation import selectors
from moderation.models import Quota
from teams.models import Membership, Team
from tests.factories import GenerationJobFactory
from tests.moderation.conftest import png
from tests.teams.conftest import image_in_team

Status = GenerationJob.Status


def job_at(owner, when, **fields):
    job = GenerationJobFactory(demo=True, owner=owner, **fields)
    GenerationJob.objects.filter(id=job.id).update(created_at=when)
    return job


@pytest.fixture
def spending(alice, bob):
    now = dt.datetime.now(dt.UTC)
    last_month = selectors.month_bounds(now)[0] - dt.timedelta(days=3)
    job_at(alice, now, cost_usd=Decimal("0.04"), params={"n": 2})
    job_at(alice, now, cost_usd=Decimal("0.04"), usage={"cost": 0.5})
    job_at(alice, last_month, cost_usd=Decimal("1.25"))
    job_at(bob, now, cost_usd=Decimal("7.77"))
    return now


def test_spend_is_summed_per_month_for_one_user(alice, spending):
    rows = selectors.spend_by_month(user=alice, now=spending)
    assert [(row["jobs"], row["spend"]) for row in rows] == [
        (2, Decimal("0.5400")),
        (1, Decimal("1.2500")),
    ]


def test_spend_per_month_does_not_multiply_by_images(alice, make_image, spending):
    image = make_image(alice, prompt="two images")
    job = image.job
    GenerationJob.objects.filter(id=job.id).update(cost_usd=Decimal("0.10"))
    image_store(job=job, index=1, data=png())
    [this_month, _] = selectors.spend_by_month(user=alice, now=spending)
    assert this_month["spend"] == Decimal("0.6400")
    assert this_month["images"] == 2


def test_alice_sees_her_quota_use_and_spend_not_bobs(client, alice, spending):
    Quota.objects.create(user=alice, daily_images=10, monthly_spend_usd=Decimal("5"))
    client.force_login(alice)
    response = client.get(reverse("moderation:usage"))
    assert response.status_code == 200
    usage = response.context["usage"]
    assert (usage.images_today, usage.limits.daily_images) == (3, 10)
    assert usage.spend_this_month == Decimal("0.5400")
    body = response.content.decode()
    assert "3 of 10" in body
    assert "$0.54 of $5.00" in body
    assert "$1.25" in body  # last month
    assert "7.77" not in body


def test_team_members_see_their_teams_spend_for_work_in_the_team(
    client, alice, bob, charlie, spending
):
    team = Team.objects.create(name="Harbour")
    Membership.objects.create(team=team, user=alice, role="owner")
    Membership.objects.create(team=team, user=bob, role="viewer")
    assert selectors.team_spend(user=alice, now=spending) == []  # nothing shared yet
    for job in GenerationJob.objects.filter(owner=bob):
        image_in_team(job, team)
        image_in_team(job, team, index=1)  # counted once however many images it shared
    assert selectors.team_spend(user=alice, now=spending) == [
        {"team_id": team.id, "team": "Harbour", "jobs": 1, "spend": Decimal("7.7700")}
    ]
    client.force_login(bob)
    assert "$7.77" in client.get(reverse("moderation:usage")).content.decode()
    assert selectors.team_spend(user=charlie, now=spending) == []


def test_staff_see_a_members_spend_and_quota(client, staff, alice, spending):
    client.force_login(staff)
    response = client.get(reverse("moderation:member", args=[alice.id]))
    assert response.context["usage"].spend_this_month == Decimal("0.5400")
    assert "$1.25" in response.content.decode()


@pytest.mark.parametrize(
    ("usage", "spend"),
    [
        ({"cost": 0.25}, Decimal("0.2500")),
        ({"cost": "0.25"}, Decimal("0.2500")),
        ({"cost": 1e-05}, Decimal("0.0000")),
        ({"cost": "a lot"}, Decimal("0.0400")),
        ({"cost": None}, Decimal("0.0400")),
        ({"cost": {"usd": 1}}, Decimal("0.0400")),
        ({"total_tokens": 4210}, Decimal("0.0400")),
    ],
)
def test_a_reported_cost_is_used_only_when_it_is_a_number(alice, usage, spend):
    GenerationJobFactory(demo=True, owner=alice, cost_usd=Decimal("0.04"), usage=usage)
    assert selectors.usage_get(user=alice).spend_this_month == spend
