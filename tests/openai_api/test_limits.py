"""/v1/ shares the REST API's per-token request budget, and refusals are told apart by
their reason, not by their (translated) words."""

import httpx
import openai
import pytest
from django.utils import translation

from jobs.admission import JobRefused, admission_check
from jobs.registry import get_model
from moderation.models import Quota
from openai_api.views import _refusal_error
from tests.openai_api.conftest import sdk, token_for


@pytest.fixture
def live_api(asgi_server, transactional_db):
    """The live ASGI server, for requests that make no job (no worker needed)."""
    return asgi_server.url


def test_v1_requests_count_against_the_tokens_per_minute_limit(live_api, alice, settings):
    settings.ATELIER_API_REQUESTS_PER_MINUTE = 2
    client = sdk(live_api, token_for(alice, "read"), max_retries=0)
    client.models.list()
    client.models.list()
    with pytest.raises(openai.RateLimitError) as refused:
        client.models.list()
    error = refused.value
    assert error.code == "rate_limit_exceeded"
    assert error.body["type"] == "requests"
    assert 1 <= int(error.response.headers["Retry-After"]) <= 60
    assert "x-should-retry" not in error.response.headers  # the SDK's retry is welcome


def test_api_and_v1_share_one_budget_per_token(live_api, alice, bob, settings):
    settings.ATELIER_API_REQUESTS_PER_MINUTE = 3
    raw = token_for(alice, "read")
    rest = httpx.Client(base_url=live_api, headers={"Authorization": f"Bearer {raw}"})
    assert rest.get("/api/teams").status_code == 200
    assert rest.get("/api/teams").status_code == 200
    v1 = sdk(live_api, raw, max_retries=0)
    v1.models.list()
    with pytest.raises(openai.RateLimitError):
        v1.models.list()
    refused = rest.get("/api/teams")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Bob's token has a budget of its own.
    sdk(live_api, token_for(bob, "read"), max_retries=0).models.list()


def test_an_unknown_v1_path_is_an_openai_shaped_404(live_api):
    for method in ("GET", "POST"):
        answer = httpx.request(method, f"{live_api}/v1/images/nowhere")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/json")
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "/v1/images/nowhere" in error["message"]


def _refusal(user, **admission) -> JobRefused:
    with pytest.raises(JobRefused) as refused:
        admission_check(user=user, prompt="a fox", spec=get_model("gpt-image-2"), **admission)
    return refused.value


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_per_minute_job_limit_maps_to_rate_limit_exceeded_in_any_language(alice, language):
    Quota.objects.create(user=alice, jobs_per_minute=0)
    with translation.override(language):
        error = _refusal_error(_refusal(alice))
    assert (error.status, error.code, error.retry) == (429, "rate_limit_exceeded", None)
    assert error.retry_after is not None


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    "quota", [{"daily_images": 0}, {"monthly_spend_usd": 0}], ids=["images", "spend"]
)
def test_a_quota_maps_to_insufficient_quota_that_must_not_be_retried(alice, language, quota):
    Quota.objects.create(user=alice, **quota)
    with translation.override(language):
        error = _refusal_error(_refusal(alice))
    assert (error.status, error.type, error.code) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    assert error.response()["x-should-retry"] == "false"
