"""Quotas and the rate limit refuse with 429 at the right count, say when they reset, and reset.

Time moves by passing a fixed ``now`` to the services, or by moving ``created_at``
back; nothing sleeps.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from jobs.admission import JobRefused, admission_check
from jobs.models import GenerationJob
from jobs.registry import get_model
from moderation.models import Quota, TeamQuota
from teams.models import Membership, Team
from tests.factories import GenerationJobFactory
from tests.teams.conftest import image_in_team

Status = GenerationJob.Status
DEMO = get_model("demo")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def job_at(owner, when, **fields):
    job = GenerationJobFactory(demo=True, owner=owner, **fields)
    GenerationJob.objects.filter(id=job.id).update(created_at=when)
    return job


def check(user, now):
    admission_check(user=user, prompt="a kite", spec=DEMO, now=now)


def refusal(user, now) -> JobRefused:
    with pytest.raises(JobRefused) as info:
        check(user, now)
    assert info.value.status_code == 429
    return info.value


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def submit(client, prompt="a kite"):
    return client.post(reverse("jobs:studio"), {"model": "demo", "prompt": prompt})


# -- rate limit ---------------------------------------------------------------------


def test_the_rate_limit_refuses_the_job_after_the_limit_then_resets(logged_in, alice):
    Quota.objects.create(user=alice, jobs_per_minute=3)
    for _ in range(3):
        assert submit(logged_in).status_code == 302
    response = submit(logged_in)
    assert response.status_code == 429
    message = " ".join(response.context["form"].non_field_errors())
    assert "Too many jobs: at most 3 per minute." in message
    assert "The limit resets in" in message
    assert 1 <= int(response["Retry-After"]) <= 60
    assert GenerationJob.objects.filter(owner=alice).count() == 3

    GenerationJob.objects.filter(owner=alice).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)
    )
    assert submit(logged_in).status_code == 302


def test_the_rate_limit_window_slides(alice, settings):
    settings.ATELIER_RATE_LIMIT_JOBS_PER_MINUTE = 2
    now = at("2026-03-14T12:00:00")
    job_at(alice, now - dt.timedelta(seconds=50))
    check(alice, now)  # one in the last minute: allowed
    job_at(alice, now - dt.timedelta(seconds=10))
    refused = refusal(alice, now)
    # The oldest of the two leaves the window 10 seconds from now.
    assert refused.retry_after == 10
    assert "at most 2 per minute. The limit resets in 10 seconds." in refused.message
    check(alice, now + dt.timedelta(seconds=10, microseconds=1))


def test_one_members_jobs_do_not_limit_another(alice, bob, settings):
    settings.ATELIER_RATE_LIMIT_JOBS_PER_MINUTE = 1
    now = at("2026-03-14T12:00:00")
    job_at(alice, now - dt.timedelta(seconds=5))
    refusal(alice, now)
    check(bob, now)


def test_a_rate_limit_of_zero_refuses_without_any_recent_job(alice):
    Quota.objects.create(user=alice, jobs_per_minute=0)
    refused = refusal(alice, at("2026-03-14T12:00:00"))
    assert "Too many jobs: at most 0 per minute." in refused.message
    assert refused.retry_after == 60


# -- images per day -------------------------------------------------------------------


def test_the_daily_image_quota_counts_requested_images_and_resets_at_midnight(alice):
    Quota.objects.create(user=alice, daily_images=3)
    now = at("2026-03-14T23:59:30")
    job_at(alice, at("2026-03-13T22:00:00"), params={"n": 4})  # yesterday
    job_at(alice, at("2026-03-14T09:00:00"), params={"n": 2}, status=Status.SUCCEEDED)
    job_at(alice, at("2026-03-14T10:00:00"), params={"n": 4}, status=Status.FAILED)
    job_at(alice, at("2026-03-14T11:00:00"), params={"n": 4}, status=Status.CANCELLED)
    check(alice, now)  # 2 of 3
    job_at(alice, at("2026-03-14T12:00:00"), params={}, status=Status.QUEUED)
    refused = refusal(alice, now)
    assert refused.retry_after == 30
    assert refused.message == (
        "Your daily image quota is reached: 3 of 3 images today. "
        "It resets at 00:00 UTC, in 30 seconds."
    )
    check(alice, at("2026-03-15T00:00:00"))


def test_a_job_asking_for_more_images_than_remain_is_refused(alice):
    Quota.objects.create(user=alice, daily_images=5)
    now = at("2026-03-14T12:00:00")
    job_at(alice, at("2026-03-14T09:00:00"), params={"n": 3}, status=Status.SUCCEEDED)
    admission_check(user=alice, prompt="a kite", spec=get_model("dall-e-2"), images=2, now=now)
    with pytest.raises(JobRefused) as refused:
        admission_check(user=alice, prompt="a kite", spec=get_model("dall-e-2"), images=3, now=now)
    assert refused.value.status_code == 429
    assert refused.value.message.startswith(
        "Your daily image quota is reached: 3 of 5 images today; this job asks for 3 more."
    )


def test_the_site_default_applies_without_a_quota_row(logged_in, alice, settings):
    settings.ATELIER_DEFAULT_DAILY_IMAGES = 2
    assert submit(logged_in).status_code == 302
    assert submit(logged_in).status_code == 302
    response = submit(logged_in)
    assert response.status_code == 429
    assert "2 of 2 images today" in response.content.decode()
    GenerationJob.objects.filter(owner=alice).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    )
    assert submit(logged_in).status_code == 302


# -- spend per month --------------------------------------------------------------------


def test_the_monthly_spend_quota_refuses_at_the_limit_and_resets_next_month(alice):
    Quota.objects.create(user=alice, monthly_spend_usd=Decimal("1.00"))
    now = at("2026-03-31T23:00:00")
    job_at(alice, at("2026-02-27T10:00:00"), cost_usd=Decimal("5"))  # last month
    job_at(alice, at("2026-03-02T10:00:00"), cost_usd=Decimal("0.60"))
    # A provider that reports its cost is believed over the registry's price.
    job_at(alice, at("2026-03-03T10:00:00"), cost_usd=Decimal("0.04"), usage={"cost": 0.35})
    check(alice, now)  # $0.95 of $1.00
    job_at(alice, at("2026-03-04T10:00:00"), cost_usd=Decimal("0.05"))
    refused = refusal(alice, now)
    assert refused.retry_after == 3600
    assert refused.message == (
        "Your monthly spend quota is reached: $1.00 of $1.00 this month. "
        "It resets on 01 April 2026 at 00:00 UTC, in 1 h."
    )
    check(alice, at("2026-04-01T00:00:00"))


def test_the_site_default_spend_comes_from_settings(alice, settings):
    settings.ATELIER_DEFAULT_MONTHLY_SPEND_USD = Decimal("0.10")
    now = at("2026-03-10T12:00:00")
    job_at(alice, at("2026-03-01T00:00:00"), cost_usd=Decimal("0.10"))
    assert "$0.10 of $0.10" in refusal(alice, now).message


# -- teams ----------------------------------------------------------------------------


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Harbour")
    Membership.objects.create(team=team, user=alice, role="owner")
    Membership.objects.create(team=team, user=bob, role="editor")
    return team


def test_a_team_quota_counts_every_members_images_in_the_team(alice, bob, charlie, team):
    TeamQuota.objects.create(team=team, daily_images=3)
    now = at("2026-03-14T20:00:00")
    image_in_team(job_at(alice, at("2026-03-14T09:00:00"), params={"n": 2}), team)
    check(bob, now)
    job_at(bob, at("2026-03-14T09:30:00"), params={"n": 4})  # his own, not the team's
    check(bob, now)
    image_in_team(job_at(bob, at("2026-03-14T10:00:00"), params={"n": 1}), team)
    refused = refusal(bob, now)
    assert refused.message.startswith("Team Harbour's daily image quota is reached: 3 of 3")
    refusal(alice, now)
    check(charlie, now)  # not in the team
    check(bob, at("2026-03-15T00:00:00"))


def test_a_team_spend_quota_refuses_members(alice, bob, team):
    TeamQuota.objects.create(team=team, monthly_spend_usd=Decimal("2"))
    now = at("2026-03-14T20:00:00")
    image_in_team(job_at(alice, at("2026-03-01T09:00:00"), cost_usd=Decimal("1.5")), team)
    check(bob, now)
    image_in_team(job_at(bob, at("2026-03-02T09:00:00"), cost_usd=Decimal("0.5")), team)
    assert "Team Harbour's monthly spend quota is reached: $2.00 of $2.00" in (
        refusal(bob, now).message
    )
    check(bob, at("2026-04-01T00:00:00"))


def test_a_team_without_a_quota_limits_nothing(alice, team, settings):
    now = at("2026-03-14T20:00:00")
    job_at(alice, at("2026-03-14T09:00:00"), params={"n": 10})
    check(alice, now)


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_the_same_instant_cannot_both_slip_under_the_quota(alice, monkeypatch):
    import threading

    from django.db import connection

    from jobs.services import job_create
    from tests.support import broker_silenced

    broker_silenced(monkeypatch)  # committed jobs, which the suite's live worker must not run
    Quota.objects.create(user=alice, daily_images=1)
    barrier = threading.Barrier(4)
    outcomes = []

    def submit_one():
        try:
            barrier.wait()
            job_create(user=alice, model_name="demo", prompt="a race", params={})
            outcomes.append("queued")
        except JobRefused as refusal:
            outcomes.append(refusal.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [429, 429, 429, "queued"]
    assert GenerationJob.objects.filter(owner=alice).count() == 1
