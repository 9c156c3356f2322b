"""What the REST API answers where it has no operation, and refusals named by code."""

import json

import pytest

from moderation.models import BlockedTerm, Quota
from tests.api.conftest import token_client


@pytest.mark.parametrize("path", ["/api/nowhere", "/api/jobs/", "/api/images/1/nothing"])
def test_an_unknown_api_path_is_a_json_404(alice, path):
    client = token_client(alice)
    for response in (
        client.get(path),
        client.post(path, data="{}", content_type="application/json"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"detail": "Not Found"}


def test_an_unknown_api_path_is_json_without_a_token_too(client):
    response = client.get("/api/nowhere")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_the_site_keeps_its_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_operation_under_a_known_prefix_still_has_the_apis_404(alice):
    response = token_client(alice).get("/api/jobs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_monthly_spend_quota_is_quota_exhausted_in_any_language(alice, fake_provider):
    Quota.objects.create(user=alice, monthly_spend_usd=0)
    client = token_client(alice)
    response = client.post(
        "/api/jobs/generate",
        data=json.dumps({"model": "dall-e-2", "prompt": "a boat"}),
        content_type="application/json",
        headers={"Accept-Language": "zh-hans"},
    )
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exhausted"
    assert int(response["Retry-After"]) > 0


def test_a_blocked_prompt_is_prompt_refused(alice, fake_provider):
    BlockedTerm.objects.create(pattern="forbidden")
    response = token_client(alice).post(
        "/api/jobs/generate",
        data=json.dumps({"model": "dall-e-2", "prompt": "a forbidden boat"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "prompt_refused"


def test_the_api_root_leads_to_its_interactive_docs(client):
    response = client.get("/api/")

    assert response.status_code == 302
    assert response["Location"] == "/api/docs"
    assert client.get("/api/docs").status_code == 200
