"""Each provider answer, good or bad, ends the job in a defined state with a clear message.

These run one attempt in-process (``job_run``) against the fake provider over
HTTP and the S3 server, so every byte still crosses a real socket.
"""

import pytest
from django.test import override_settings

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from jobs.providers.errors import CATALOG
from tests.support import bucket_keys

Status = GenerationJob.Status


@pytest.fixture
def make_job(alice, s3, fake_provider):
    def make(prompt, model="dall-e-3", **params):
        return services.job_create(user=alice, model_name=model, prompt=prompt, params=params)

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


SEED_CODES = [
    ("invalid_api_key", "rejected Atelier's API key"),
    ("invalid_model", "does not offer this model"),
    ("insufficient_user_quota", "run out of credit"),
    ("invalid_messages", "did not accept the prompt"),
    ("content_policy_violation", "content policy"),
    ("moderation_blocked", "safety system"),
]


@pytest.mark.parametrize(("code", "words"), SEED_CODES)
def test_it_fails_permanently_with_a_readable_message(make_job, s3, fake_provider, code, words):
    job = make_job(f"a lighthouse fake:{code}")
    outcome = run(job)
    assert outcome.retry_in is None
    assert job.status == Status.FAILED
    assert job.error_code == code
    assert words in job.error_message
    assert len(fake_provider.calls_for("lighthouse")) == 1
    assert bucket_keys(s3) == []


def test_every_seed_error_code_has_a_message():
    for code in (
        "invalid_api_key",
        "invalid_model",
        "insufficient_user_quota",
        "invalid_messages",
        "internal_error",
    ):
        assert CATALOG[code].message


def test_a_wrong_api_key_is_reported_as_such(make_job, fake_provider):
    job = make_job("a meadow")
    with override_settings(OPENAI_API_KEY="sk-wrong"):
        run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_api_key")
    [call] = fake_provider.calls_for("meadow")
    assert call.authorization == "Bearer sk-wrong"
    assert "sk-wrong" not in job.error_message


def test_internal_error_is_retried_then_gives_up(make_job, fake_provider, settings):
    settings.ATELIER_JOB_MAX_ATTEMPTS = 3
    job = make_job("a harbour fake:internal_error")
    delays = []
    for _ in range(3):
        outcome = run(job)
        delays.append(outcome.retry_in)
    assert delays[0] is not None and delays[1] is not None and delays[2] is None
    assert job.status == Status.FAILED and job.error_code == "internal_error"
    assert job.attempts == 3
    assert len(fake_provider.calls_for("harbour")) == 3


def test_a_transient_error_then_success_stores_the_image_once(make_job, s3, fake_provider):
    job = make_job("a windmill fake:fail_then_ok:internal_error,1")
    first = run(job)
    assert job.status == Status.QUEUED and first.retry_in > 0
    assert "internal error" in job.error_message
    run(job)
    assert job.status == Status.SUCCEEDED and job.error_code == ""
    assert Image.objects.filter(job=job).count() == 1
    assert len(bucket_keys(s3)) == 2
    assert len(fake_provider.calls_for("windmill")) == 2


def test_rate_limit_waits_at_least_as_long_as_retry_after(make_job, fake_provider):
    job = make_job("a desert fake:rate_limit_exceeded:7")
    outcome = run(job)
    assert job.status == Status.QUEUED and job.error_code == "rate_limit_exceeded"
    assert outcome.retry_in >= 7


def test_a_url_that_already_expired_fails_without_calling_again(make_job, s3, fake_provider):
    job = make_job("a volcano fake:url_expired")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_url_expired")
    assert "expire after 60 minutes" in job.error_message
    assert len(fake_provider.calls_for("volcano")) == 1
    assert bucket_keys(s3) == []


def test_a_read_timeout_leaves_the_outcome_unknown_and_never_resends(
    make_job, fake_provider, settings
):
    settings.ATELIER_PROVIDER_TIMEOUT = 1
    job = make_job("a glacier fake:slow:3")
    outcome = run(job)
    assert outcome.retry_in is None
    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    assert "usage" in job.error_message
    run(job)
    assert len(fake_provider.calls_for("glacier")) == 1


def test_a_truncated_body_is_a_bad_response(make_job, fake_provider):
    job = make_job("a canyon fake:truncated")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "bad_response")


def test_an_html_gateway_page_is_retried_as_unavailable(make_job, fake_provider):
    job = make_job("a bridge fake:html")
    outcome = run(job)
    assert job.status == Status.QUEUED and job.error_code == "provider_unavailable"
    assert outcome.retry_in is not None


def test_bad_base64_fails_as_invalid_image(make_job, s3, fake_provider):
    job = make_job("a forest fake:bad_b64")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_image")
    assert "base64" in job.error_message
    assert bucket_keys(s3) == []


def test_an_unreachable_provider_is_retried(make_job, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    job = make_job("a river")
    outcome = run(job)
    assert job.status == Status.QUEUED and job.error_code == "connection_error"
    assert job.provider_request_sent_at is None
    assert outcome.retry_in is not None


def test_a_finished_job_is_never_run_again(make_job, fake_provider):
    job = make_job("a comet")
    run(job)
    assert job.status == Status.SUCCEEDED
    run(job)
    assert job.attempts == 1
    assert len(fake_provider.calls_for("comet")) == 1


def test_gpt_image_models_never_get_response_format(make_job, fake_provider):
    job = make_job("a tram", model="gpt-image-1.5", size="1536x1024", quality="low")
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("tram")
    assert "response_format" not in call.body
    assert call.body["quality"] == "low"
    assert str(job.cost_usd) == "0.0110"
    assert job.usage["total_tokens"] == 4210
