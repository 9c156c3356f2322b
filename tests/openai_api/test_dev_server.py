"""`make run` serves /v1/ through runserver (WSGI): the same views, one request per thread."""

import json
from concurrent.futures import ThreadPoolExecutor

from jobs.models import GenerationJob
from tests.openai_api.conftest import token_for


def off_the_loop(call, *args, **kwargs):
    """The test client in a thread of its own: when the browser tests ran first, Playwright's
    event loop stays in this thread, and the sync handler cannot wait on an async view here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args, **kwargs).result()


def test_the_wsgi_handler_serves_a_held_generation(client, worker, alice):
    raw = token_for(alice)
    answer = off_the_loop(
        client.post,
        "/v1/images/generations",
        data=json.dumps({"model": "gpt-image-2", "prompt": "a dev-server teapot"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.content[:500]
    assert answer.json()["data"][0]["b64_json"]
    assert GenerationJob.objects.get(owner=alice).status == "succeeded"
    refused = off_the_loop(
        client.post, "/v1/images/generations", data="{}", content_type="application/json"
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "missing_api_key"
