"""A team's figures and quota count only the work done in the team."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from jobs.admission import admission_check
from jobs.registry import get_model
from moderation import selectors
from moderation.models import TeamQuota
from teams.models import Invitation
from tests.factories import GenerationJobFactory
from tests.teams.conftest import image_in_team


def test_a_members_own_work_stays_off_the_teams_usage_page(client, alice, bob, team):
    GenerationJobFactory(
        demo=True, owner=bob, prompt="bob's private project", cost_usd=Decimal("9.00")
    )
    shared = GenerationJobFactory(
        demo=True, owner=bob, prompt="for the team", cost_usd=Decimal("0.25")
    )
    image_in_team(shared, team)
    [row] = selectors.team_spend(user=alice)
    assert (row["team"], row["jobs"], row["spend"]) == ("Studio North", 1, Decimal("0.2500"))
    client.force_login(alice)
    body = client.get(reverse("moderation:usage")).content.decode()
    assert "$0.25" in body and "$9.00" not in body


def test_an_invited_user_is_neither_counted_nor_limited_by_the_team(alice, charlie, team):
    TeamQuota.objects.create(team=team, daily_images=1, monthly_spend_usd=Decimal("0.10"))
    image_in_team(
        GenerationJobFactory(demo=True, owner=alice, cost_usd=Decimal("5.00"), params={"n": 1}),
        team,
    )
    Invitation.objects.create(team=team, username="charlie", invited_by=alice)
    GenerationJobFactory(demo=True, owner=charlie, cost_usd=Decimal("3.00"))
    # The team's quota is spent, but charlie only has an invitation: his jobs go ahead.
    admission_check(user=charlie, prompt="a kite", spec=get_model("demo"), now=None)
    assert selectors.team_usage_list(user=charlie) == []
    [usage] = selectors.team_usage_list(user=alice)
    assert usage.spend_this_month == Decimal("5.0000")


def test_team_spend_counts_a_job_once_per_team(alice, bob, team):
    from teams.models import Membership, Team

    other = Team.objects.create(name="Other")
    Membership.objects.create(team=other, user=alice, role="owner")
    job = GenerationJobFactory(demo=True, owner=alice, cost_usd=Decimal("1.00"), params={"n": 3})
    image_in_team(job, team, index=0)
    image_in_team(job, team, index=1)
    image_in_team(job, other, index=2)
    now = dt.datetime.now(dt.UTC)
    rows = {row["team"]: (row["jobs"], row["spend"]) for row in selectors.team_spend(now=now)}
    assert rows == {"Studio North": (1, Decimal("1.0000")), "Other": (1, Decimal("1.0000"))}
