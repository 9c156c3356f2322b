"""In DEBUG, the technical 500 page never shows a provider key given inline in
ATELIER_CONNECTIONS: not in the settings, not in request.META, not in local variables."""

import json

from django.test import Client

INLINE_KEY = "sk-inline-connection-secret-7731"
CONNECTIONS = [
    {
        "name": "inline",
        "family": "chat_completions",
        "base_url": "https://proxy.example/v1",
        "api_key": INLINE_KEY,
        # An unknown model makes the connection code raise while the key is in its locals.
        "models": ["no-such-model"],
    }
]


def test_the_technical_500_page_masks_inline_api_keys(db, settings, alice):
    settings.DEBUG = True
    settings.ATELIER_CONNECTIONS = CONNECTIONS
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    # runserver copies the environment into request.META; the test client is told to.
    response = client.get("/", ATELIER_CONNECTIONS=json.dumps(CONNECTIONS))
    assert response.status_code == 500
    page = response.content.decode()
    assert "unknown model" in page and "ATELIER_CONNECTIONS" in page  # the debug page itself
    assert INLINE_KEY not in page
    assert "********************" in page
