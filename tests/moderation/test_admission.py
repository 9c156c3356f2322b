"""Refused prompts and suspended members never reach the provider, and say why."""

import pytest
from django.urls import reverse

from jobs import services as job_services
from jobs.models import GenerationJob
from moderation import services
from moderation.models import AuditEntry, BlockedTerm, ModerationEvent

Status = GenerationJob.Status


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def submit(client, prompt, model="dall-e-3"):
    return client.post(reverse("jobs:studio"), {"model": model, "prompt": prompt})


def run_queued_jobs():
    """What a worker would do with everything queued; the broker is not needed here."""
    for job_id in GenerationJob.objects.filter(status=Status.QUEUED).values_list("id", flat=True):
        job_services.job_run(job_id=job_id)


def form_errors(response) -> str:
    return " ".join(response.context["form"].non_field_errors())


def test_an_allowed_prompt_reaches_the_provider(logged_in, s3, fake_provider):
    assert submit(logged_in, "a calm harbour m-allowed").status_code == 302
    run_queued_jobs()
    assert len(fake_provider.calls_for("m-allowed")) == 1


@pytest.mark.parametrize(
    ("kind", "pattern", "prompt"),
    [
        ("word", "gore", "a portrait with GORE m-word"),
        ("word", "blood bath", "a  Blood   bath at noon m-phrase"),
        ("regex", r"\bkill(s|ing)?\b", "someone killing a dragon m-regex"),
    ],
)
def test_a_blocklisted_prompt_never_reaches_the_provider(
    logged_in, alice, s3, fake_provider, kind, pattern, prompt
):
    BlockedTerm.objects.create(kind=kind, pattern=pattern)
    response = submit(logged_in, prompt)
    assert response.status_code == 400
    assert "contains words that are not allowed" in form_errors(response)
    assert GenerationJob.objects.count() == 0
    run_queued_jobs()
    assert fake_provider.calls_for("m-") == []
    event = ModerationEvent.objects.get()
    assert (event.user, event.source, event.prompt) == (alice, "blocklist", prompt)


def test_words_match_whole_words_only(logged_in, fake_provider):
    BlockedTerm.objects.create(kind="word", pattern="ass")
    assert submit(logged_in, "a classic brass band m-class").status_code == 302


def test_an_inactive_term_blocks_nothing(logged_in, fake_provider):
    BlockedTerm.objects.create(kind="word", pattern="gore", is_active=False)
    assert submit(logged_in, "gore m-inactive").status_code == 302


def test_a_suspended_member_is_refused_with_the_reason(logged_in, alice, staff, s3, fake_provider):
    services.user_suspend(actor=staff, user=alice, reason="Spamming the team library.")
    response = submit(logged_in, "a lighthouse m-suspended")
    assert response.status_code == 403
    assert "Your account is suspended" in form_errors(response)
    assert "Spamming the team library." in form_errors(response)
    run_queued_jobs()
    assert fake_provider.calls_for("m-suspended") == []
    services.user_unsuspend(actor=staff, user=alice, reason="Promised to stop.")
    assert submit(logged_in, "a lighthouse m-suspended").status_code == 302


def test_suspending_can_hide_all_their_images_in_one_action(client, staff, alice, bob, make_image):
    images = [make_image(alice, prompt=f"alice {i}") for i in range(3)]
    bobs = make_image(bob, prompt="bob's")
    client.force_login(staff)
    response = client.post(
        reverse("moderation:member_suspend", args=[alice.id]),
        {"reason": "abusive images", "hide_images": "on"},
    )
    assert response.status_code == 302
    for image in images:
        image.refresh_from_db()
        assert (image.is_hidden, image.hidden_reason) == (True, "abusive images")
    bobs.refresh_from_db()
    assert not bobs.is_hidden
    assert alice.suspensions.get().created_by == staff
    entries = AuditEntry.objects.filter(target_type="auth.user", target_id=str(alice.id))
    assert set(entries.values_list("action", flat=True)) == {"user.suspend", "user.hide_images"}


def test_a_provider_refusal_is_recorded_as_a_moderation_event(alice, s3, fake_provider):
    job = job_services.job_create(
        user=alice,
        model_name="dall-e-3",
        prompt="a statue fake:content_policy_violation",
        params={},
    )
    job_services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (Status.FAILED, "content_policy_violation")
    event = job.moderation_events.get()
    assert (event.user, event.source, event.code) == (alice, "provider", job.error_code)
    assert "safety system" in event.detail


def test_other_failures_are_not_moderation_events(alice, s3, fake_provider):
    job = job_services.job_create(
        user=alice, model_name="dall-e-3", prompt="a statue fake:invalid_model", params={}
    )
    job_services.job_run(job_id=job.id)
    assert ModerationEvent.objects.count() == 0


# -- pre-moderation through the provider's /v1/moderations ------------------------


def moderation_calls(fake_provider):
    return [call for call in fake_provider.calls if call.path == "/v1/moderations"]


def test_without_the_setting_prompts_are_not_premoderated(logged_in, fake_provider, settings):
    settings.ATELIER_PREMODERATION = False
    assert submit(logged_in, "fake:flagged m-off").status_code == 302
    assert moderation_calls(fake_provider) == []


def test_a_flagged_prompt_is_refused_before_it_is_queued(
    logged_in, alice, s3, fake_provider, settings
):
    settings.ATELIER_PREMODERATION = True
    response = submit(logged_in, "a duel fake:flagged m-flagged")
    assert response.status_code == 400
    assert "moderation check flagged this prompt (violence)" in form_errors(response)
    [call] = moderation_calls(fake_provider)
    assert call.body["input"] == "a duel fake:flagged m-flagged"
    assert call.authorization == "Bearer sk-test-atelier-0123456789"
    run_queued_jobs()
    assert fake_provider.calls_for("m-flagged") == []
    assert ModerationEvent.objects.get().source == "premoderation"


def test_a_clean_prompt_passes_premoderation(logged_in, s3, fake_provider, settings):
    settings.ATELIER_PREMODERATION = True
    assert submit(logged_in, "a meadow m-clean").status_code == 302
    assert len(moderation_calls(fake_provider)) == 1


def test_premoderation_fails_closed_when_the_endpoint_is_down(logged_in, fake_provider, settings):
    settings.ATELIER_PREMODERATION = True
    response = submit(logged_in, "a meadow fake:moderation_down")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "prompt check is unavailable" in form_errors(response)
    assert GenerationJob.objects.count() == 0


def test_the_blocklist_is_checked_before_premoderation(logged_in, fake_provider, settings):
    settings.ATELIER_PREMODERATION = True
    BlockedTerm.objects.create(kind="word", pattern="gore")
    assert submit(logged_in, "gore m-both").status_code == 400
    assert moderation_calls(fake_provider) == []
