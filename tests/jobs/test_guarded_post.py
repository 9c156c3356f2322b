"""fetch.guarded_post: the guarded fetcher's address rules for a POST to a URL a user gave
(webhooks send through it)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.providers import fetch


@pytest.fixture
def server():
    """A loopback server: POST /big answers 10 kB, /moved a redirect, /slow nothing for 2 s."""
    received: list[tuple[str, bytes, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, body, dict(self.headers.items())))
            if self.path == "/slow":
                threading.Event().wait(2)
            answer = b"x" * 10_000 if self.path == "/big" else b"ok"
            self.send_response(302 if self.path == "/moved" else 200)
            if self.path == "/moved":
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.received = received  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server, path="/in") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


LOOPBACK = ["127.0.0.1/32"]


def test_it_posts_to_an_allowed_address_and_caps_the_answer(server):
    answer = fetch.guarded_post(
        _url(server, "/big"),
        body=b'{"a":1}',
        headers=[("Content-Type", "application/json")],
        allowed_networks=LOOPBACK,
        timeout=5,
        max_answer_bytes=100,
    )
    assert answer.status == 200 and answer.body == b"x" * 100
    assert answer.header("Content-Length") == "10000"
    [(path, body, headers)] = server.received
    assert (path, body, headers["Content-Type"]) == ("/big", b'{"a":1}', "application/json")
    assert headers["Accept-Encoding"] == "identity"


def test_a_loopback_address_is_refused_unless_allowed_and_nothing_is_sent(server):
    with pytest.raises(fetch.AddressRefused, match="127.0.0.1"):
        fetch.guarded_post(_url(server), body=b"{}", headers=[], timeout=5)
    with pytest.raises(fetch.AddressRefused):
        fetch.address_check(_url(server))
    fetch.address_check(_url(server), allowed_networks=LOOPBACK)
    assert server.received == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("93.184.215.14", "10.0.0.8")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(fetch.AddressRefused, match="10.0.0.8"):
        fetch.guarded_post("https://hooks.example.test/in", body=b"{}", headers=[], timeout=5)


def test_a_redirect_is_an_answer_not_followed(server):
    answer = fetch.guarded_post(
        _url(server, "/moved"), body=b"{}", headers=[], allowed_networks=LOOPBACK, timeout=5
    )
    assert answer.status == 302 and answer.header("location") == "/elsewhere"
    assert [path for path, _body, _headers in server.received] == ["/moved"]


def test_one_deadline_covers_the_whole_post(server):
    with pytest.raises(fetch.PostFailed, match="No answer within"):
        fetch.guarded_post(
            _url(server, "/slow"), body=b"{}", headers=[], allowed_networks=LOOPBACK, timeout=0.5
        )


@pytest.mark.parametrize("url", ["ftp://example.com/in", "http:///nohost", "file:///etc/passwd"])
def test_only_http_and_https_urls_are_reached(url):
    with pytest.raises(fetch.AddressRefused):
        fetch.guarded_post(url, body=b"{}", headers=[], timeout=5)
