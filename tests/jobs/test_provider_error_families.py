"""Errors the issue lists that the first slice did not cover, across every family.

Each ends the job in a defined state with a message a person understands, and is
split into retryable and permanent.
"""

from __future__ import annotations

import pathlib
import re

import httpx
import pytest

from jobs import services
from jobs.models import GenerationJob, ProviderConnection
from jobs.providers.errors import CATALOG, ProviderError, message_for
from jobs.providers.openai_images import retry_after_seconds

Status = GenerationJob.Status
JOBS = pathlib.Path(services.__file__).parent.parent


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


@pytest.fixture
def make_job(alice, s3, fake_connections):
    def make(prompt, model="dall-e-3", **params):
        return services.job_create(user=alice, model_name=model, prompt=prompt, params=params)

    return make


def test_every_error_code_atelier_raises_has_a_message_and_a_policy():
    raised = set()
    for path in [*(JOBS / "services").glob("*.py"), *(JOBS / "providers").glob("*.py")]:
        source = path.read_text()
        raised |= set(re.findall(r'ProviderError\(\s*"([a-z0-9_]+)"', source))
        raised |= set(re.findall(r'code="([a-z0-9_]+)"', source))
        raised |= set(re.findall(r'^\s+\d+: "([a-z0-9_]+)",$', source, flags=re.M))
    # Markers, not errors shown: a cancelled job told to the proxy; a face swap recorded for review.
    raised -= {"cancelled_at_provider", "swap_face"}
    assert raised, "the scan found nothing; the pattern is stale"
    missing = sorted(code for code in raised if code not in CATALOG)
    assert missing == []
    for code in raised:
        assert CATALOG[code].message.endswith((".", ")")), code


def test_rate_limit_without_retry_after_waits_for_the_exhausted_x_ratelimit_bucket(make_job):
    job = make_job("a windless sea fake:rate_limit_headers:20s")
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.QUEUED, "rate_limit_exceeded")
    assert outcome.retry_in >= 20


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset-images": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-requests": "20ms"}, 0.02),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "2s",
                "x-ratelimit-reset-tokens": "1m",
            },
            2.0,
        ),
        ({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "1m"}, 60.0),
        ({}, None),
    ],
)
def test_it_reads_every_rate_limit_header(headers, seconds):
    assert retry_after_seconds(httpx.Headers(headers)) == seconds


def test_an_image_url_answering_404_fails_without_calling_again(make_job, s3, fake_connections):
    job = make_job("a missing file fake:url_missing", model="dall-e-2")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_url_expired")
    assert "no longer works" in job.error_message
    assert len(fake_connections.calls_for("missing file")) == 1


def test_a_provider_without_the_endpoint_is_reported_as_such(make_job, settings):
    settings.OPENAI_BASE_URL = settings.OPENAI_BASE_URL.removesuffix("/v1")
    job = make_job("a wrong address")
    outcome = run(job)
    assert outcome.retry_in is None
    assert (job.status, job.error_code) == (Status.FAILED, "endpoint_not_found")
    assert "404" in job.error_message


def test_a_midjourney_submit_that_times_out_is_unknown_and_never_resent(
    make_job, fake_connections, settings
):
    settings.ATELIER_PROVIDER_TIMEOUT = 1
    job = make_job("a slow castle fake:mj_stall:3", model="midjourney")
    run(job)
    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    run(job)
    submits = [c for c in fake_connections.calls if c.path.startswith("/mj/submit/")]
    assert len(submits) == 1


@pytest.mark.parametrize(
    ("connection", "model"), [("fake-mj", "midjourney"), ("fake-chat", "gpt-4-all")]
)
def test_an_unreachable_provider_is_retried_in_every_family(make_job, connection, model):
    ProviderConnection.objects.filter(name=connection).update(base_url="http://127.0.0.1:9/v1")
    job = make_job("an unreachable island", model=model)
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.QUEUED, "connection_error")
    assert job.provider_request_sent_at is None
    assert outcome.retry_in is not None


def test_provider_text_is_shown_only_where_it_helps():
    # A 401 body quotes part of the key; it must not reach the job's message.
    leaked = ProviderError("invalid_api_key", detail="Incorrect API key provided: sk-1afsp***")
    assert "sk-1afsp" not in leaked.message
    shown = ProviderError("mj_task_failed", detail="Banned prompt detected")
    assert (
        shown.message
        == f"{message_for('mj_task_failed')} The provider said: Banned prompt detected"
    )
