"""With SENTRY_DSN set, settings switch Sentry on and an error in a view reaches it."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
import sentry_sdk
setup_test_environment()
with override_settings(ROOT_URLCONF="tests.ops.boom_urls"):
    status = Client(raise_request_exception=False).get("/boom/").status_code
sentry_sdk.flush(timeout=10)
print("status", status)
"""


class FakeSentry:
    """Accepts envelopes the way Sentry's ingest does and keeps their bodies."""

    def __init__(self):
        self.bodies: list[bytes] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "br":
                    import brotli

                    raw = brotli.decompress(raw)
                received.append(raw)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "0"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"


def test_an_exception_in_a_view_is_delivered_to_sentry():
    sentry = FakeSentry()
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "SENTRY_DSN": sentry.dsn}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sentry.server.shutdown()
    assert "status 500" in result.stdout, result.stderr[-3000:]
    delivered = b"\n".join(sentry.bodies)
    assert b"ops sentry probe: this view always fails" in delivered
    assert b"RuntimeError" in delivered


def test_without_a_dsn_nothing_is_sent():
    sentry = FakeSentry()
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        env.pop("SENTRY_DSN", None)
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        sentry.server.shutdown()
    assert "status 500" in result.stdout, result.stderr[-3000:]
    assert sentry.bodies == []
