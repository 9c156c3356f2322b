"""A local webhook receiver: a tiny HTTP server on 127.0.0.1 that records what it is sent
and answers from a script of statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    # Answers in order, then the last one again: (status, headers).
    script: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(200, {})])
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/atelier"

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        self.script = [s if isinstance(s, tuple) else (s, {}) for s in statuses]

    def next_answer(self) -> tuple[int, dict[str, str]]:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            me = state["receiver"]
            me.received.append(Received(self.path, dict(self.headers.items()), body))
            status, headers = me.next_answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(server=server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.ATELIER_WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    return settings


@pytest.fixture
def loopback_refused(settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []
    return settings
