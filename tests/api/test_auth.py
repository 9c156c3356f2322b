"""Tokens at the API's door: unknown, revoked and suspended are 401; use is recorded."""

import json

from django.test import Client, override_settings

from api.models import AccessToken
from api.services import token_create, token_revoke
from moderation.models import Quota
from moderation.services import user_suspend
from tests.api.conftest import TokenClient, token_client


def test_no_token_and_an_unknown_token_are_401_with_a_json_reason(db):
    for client in (Client(), TokenClient("atl_" + "x" * 43), TokenClient("not-a-token")):
        response = client.get("/api/jobs")
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401(alice):
    token, raw = token_create(user=alice, name="ci", scopes=["read"])
    client = TokenClient(raw)
    assert client.get("/api/jobs").status_code == 200
    token_revoke(token=token, by=alice)
    assert client.get("/api/jobs").status_code == 401


def test_a_suspended_users_token_gets_401(alice):
    client = token_client(alice)
    user_suspend(actor=None, user=alice, reason="spam")
    assert client.get("/api/images").status_code == 401


def test_use_is_recorded_with_the_address(alice):
    token, raw = token_create(user=alice, name="ci", scopes=["read"])
    assert token.last_used_at is None
    TokenClient(raw, REMOTE_ADDR="198.51.100.7").get("/api/teams")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_ip == "198.51.100.7"


def test_the_browser_session_works_and_needs_csrf_for_writes(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/jobs").status_code == 200
    response = client.post(
        "/api/collections", data=json.dumps({"name": "x"}), content_type="application/json"
    )
    assert response.status_code in (401, 403)


@override_settings(ATELIER_API_REQUESTS_PER_MINUTE=3)
def test_requests_over_the_per_token_limit_get_429_with_retry_after(alice, bob):
    client = token_client(alice, scopes=["read"])
    assert [client.get("/api/teams").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/teams")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token (another person) has its own count.
    assert token_client(bob, scopes=["read"]).get("/api/teams").status_code == 200


def test_a_job_over_the_rate_limit_is_429_with_retry_after_like_the_studio(alice, fake_provider):
    Quota.objects.create(user=alice, jobs_per_minute=1)
    client = token_client(alice)
    body = json.dumps({"model": "dall-e-2", "prompt": "a boat"})
    first = client.post("/api/jobs/generate", data=body, content_type="application/json")
    assert first.status_code == 201, first.content
    second = client.post("/api/jobs/generate", data=body, content_type="application/json")
    assert second.status_code == 429
    assert "per minute" in second.json()["detail"]
    assert second.json()["code"] == "rate_limited"
    assert int(second["Retry-After"]) >= 1


def test_a_daily_quota_refusal_is_429(alice, fake_provider):
    Quota.objects.create(user=alice, daily_images=0)
    client = token_client(alice)
    body = json.dumps({"model": "dall-e-2", "prompt": "a boat"})
    response = client.post("/api/jobs/generate", data=body, content_type="application/json")
    assert response.status_code == 429
    assert "daily image quota" in response.json()["detail"]
    assert response.json()["code"] == "quota_exhausted"
    assert int(response["Retry-After"]) > 0


def test_a_repeated_submit_token_makes_one_job(alice, fake_provider):
    client = token_client(alice)
    body = json.dumps(
        {
            "model": "dall-e-2",
            "prompt": "a boat",
            "submit_token": "5b0c0a86-1f1c-4b5e-9c51-3e0c0f1d2a11",
        }
    )
    first = client.post("/api/jobs/generate", data=body, content_type="application/json")
    again = client.post("/api/jobs/generate", data=body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert alice.generation_jobs.count() == 1


def test_invalid_requests_answer_400_with_the_studios_messages(alice, fake_provider):
    client = token_client(alice)
    response = client.post(
        "/api/jobs/generate",
        data=json.dumps({"model": "no-such-model", "prompt": "a boat"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "model" in response.json()["errors"]
    response = client.post(
        "/api/jobs/generate",
        data=json.dumps({"model": "dall-e-2", "prompt": "a boat", "size": "3x3"}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]
    response = client.get("/api/images", {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert response.status_code == 400
    assert "date_to" in response.json()["errors"]
    assert AccessToken.objects.count() == 1
