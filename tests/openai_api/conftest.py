"""The OpenAI-compatible endpoint served the way production serves it: config.asgi's
application under uvicorn (an event loop in a thread of the test process), beside the real
Celery worker, the fake provider and the S3 server. Clients are the official openai SDK."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from openai import OpenAI

from api.services import token_create


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    import uvicorn

    from config.asgi import application

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            loop="asyncio",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert thread.is_alive() and time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    server.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield server
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live(asgi_server, worker):
    """The live ASGI server's address, with the worker, S3 and fake provider behind it."""
    return asgi_server.url


def token_for(user, *scopes: str, team=None) -> str:
    _token, raw = token_create(user=user, name="sdk", scopes=scopes or ("generate",), team=team)
    return raw


def sdk(live: str, raw: str, **options) -> OpenAI:
    return OpenAI(base_url=f"{live}/v1", api_key=raw, **options)


@pytest.fixture
def alice_sdk(live, alice):
    return sdk(live, token_for(alice, "generate", "read"))


@pytest.fixture
def paced_stream(fake_provider, monkeypatch):
    """The fake provider's streamed events spaced out by a second, as a real model's
    previews are, so each partial image is stored (and seen) before the next replaces it."""
    original = fake_provider._stream

    def paced(handler, *args, **kwargs):
        wfile = handler.wfile

        class Paced:
            def write(self, data):
                if data.startswith(b"event:"):
                    time.sleep(1.0)
                return wfile.write(data)

            def flush(self):
                return wfile.flush()

        handler.wfile = Paced()
        return original(handler, *args, **kwargs)

    monkeypatch.setattr(fake_provider, "_stream", paced)
    return fake_provider
