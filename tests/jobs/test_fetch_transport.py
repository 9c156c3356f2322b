"""The guarded fetcher's transport (issue 10, item 1): the connection goes to the address
that was checked (one lookup, so DNS rebinding cannot switch it), with the link's name in
the Host header, the TLS SNI and the certificate check; a total deadline; bounded bodies;
every redirect hop counted. Real sockets and a real TLS server on loopback; only the name
lookup (socket.getaddrinfo) is replaced, since tests cannot run a DNS server for a name."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gallery.imaging import InvalidImage
from jobs.providers.errors import ProviderError
from jobs.providers.fetch import guarded_fetch
from tests.fake_provider import png_bytes

PNG = png_bytes(32, 32)
LOOPBACK = ["127.0.0.1/32"]


class Server:
    """A loopback HTTP(S) server whose paths choose the answer; it records what it saw."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[dict] = []
        self.sni: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "host": self.headers.get("Host")})
                server.answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, handler):
        path = handler.path
        if path.startswith("/loop"):
            handler.send_response(302)
            handler.send_header("Location", "/loop")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif path.startswith("/drip"):
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(PNG) + 1000))
            handler.end_headers()
            try:
                handler.wfile.write(PNG[:16])
                for _ in range(1000):
                    handler.wfile.flush()
                    time.sleep(0.2)
                    handler.wfile.write(b"\0")
            except OSError:
                pass
        elif path.startswith("/endless"):  # chunked, no length: zeros after a PNG header
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            try:
                chunk = PNG[:16] + b"\0" * 65_520
                for _ in range(10_000):
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
        elif path.startswith("/huge"):
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(10**12))
            handler.end_headers()
        else:
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(PNG)))
            handler.end_headers()
            handler.wfile.write(PNG)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


class _Names(dict):
    def __init__(self):
        super().__init__()
        self.lookups: list[str] = []


@pytest.fixture
def names(monkeypatch):
    """Replace name lookups: {name: [answer for the 1st lookup, the 2nd, …]}; counts them."""
    table = _Names()
    lookups = table.lookups
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answers = table[host]
        addresses = answers[min(len(lookups) - 1, len(answers) - 1)]
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def fetch(url, **kwargs):
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("max_bytes", 1_000_000)
    return guarded_fetch(url, **kwargs)


def test_the_connection_goes_to_the_address_that_was_checked_with_one_lookup(server, names):
    # DNS rebinding: the first answer passes the check, a second lookup would say 10.0.0.1.
    names["images.rebind.test"] = [["127.0.0.1"], ["10.0.0.1"]]
    url = f"http://images.rebind.test:{server.port}/x.png"
    assert fetch(url, allowed_networks=LOOPBACK) == PNG
    assert names.lookups == ["images.rebind.test"]
    assert server.requests == [{"path": "/x.png", "host": f"images.rebind.test:{server.port}"}]


def test_a_name_with_any_address_that_is_not_allowed_is_refused_before_connecting(server, names):
    names["mixed.test"] = [["8.8.8.8", "127.0.0.1"]]
    with pytest.raises(ProviderError) as refused:
        fetch(f"http://mixed.test:{server.port}/x.png")
    assert refused.value.code == "image_link_refused"
    assert server.requests == []
    # What the user reads names no host, address or port.
    assert "mixed.test" not in refused.value.message
    assert "127.0.0.1" not in refused.value.message
    assert str(server.port) not in refused.value.message


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::ffff:127.0.0.1]", "localhost", "0.0.0.0", "127.1"]
)
def test_loopback_in_any_spelling_is_refused_unless_the_connection_allows_it(server, host):
    with pytest.raises(ProviderError) as refused:
        fetch(f"http://{host}:{server.port}/x.png")
    assert refused.value.code == "image_link_refused"
    assert server.requests == []


def test_a_host_name_in_the_allow_list_allows_that_name_only(server, names):
    names["proxy.lan"] = [["127.0.0.1"]]
    names["other.lan"] = [["127.0.0.1"]]
    assert fetch(f"http://proxy.lan:{server.port}/x.png", allowed_networks=["proxy.lan"]) == PNG
    with pytest.raises(ProviderError) as refused:
        fetch(f"http://other.lan:{server.port}/x.png", allowed_networks=["proxy.lan"])
    assert refused.value.code == "image_link_refused"


def _tls_pair(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for ``name``, and a client context
    that trusts only that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    import tempfile

    with (
        tempfile.NamedTemporaryFile(suffix=".pem") as cert_file,
        tempfile.NamedTemporaryFile(suffix=".pem") as key_file,
    ):
        cert_file.write(pem)
        cert_file.flush()
        key_file.write(key_pem)
        key_file.flush()
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert_file.name, key_file.name)
    client_ctx = ssl.create_default_context(cadata=pem.decode())
    return server_ctx, client_ctx


def test_over_tls_the_pinned_connection_sends_the_links_name_and_checks_its_certificate(names):
    server_ctx, client_ctx = _tls_pair("cdn.images.test")
    tls_server = Server(tls=server_ctx)
    try:
        names["cdn.images.test"] = [["127.0.0.1"], ["10.0.0.1"]]
        names["evil.images.test"] = [["127.0.0.1"]]
        url = f"https://cdn.images.test:{tls_server.port}/x.png"
        assert fetch(url, allowed_networks=LOOPBACK, ssl_context=client_ctx) == PNG
        assert tls_server.sni == ["cdn.images.test"]
        assert tls_server.requests[0]["host"] == f"cdn.images.test:{tls_server.port}"
        assert names.lookups == ["cdn.images.test"]
        # The same address under a name the certificate does not cover is refused.
        with pytest.raises(ProviderError) as failed:
            fetch(
                f"https://evil.images.test:{tls_server.port}/x.png",
                allowed_networks=LOOPBACK,
                ssl_context=client_ctx,
            )
        assert failed.value.code == "image_download_failed"
        assert len(tls_server.requests) == 1
    finally:
        tls_server.stop()


def test_a_slow_drip_ends_at_the_total_deadline_not_per_read(server):
    started = time.monotonic()
    with pytest.raises(ProviderError) as slow:
        fetch(f"http://127.0.0.1:{server.port}/drip", allowed_networks=LOOPBACK, timeout=1.5)
    elapsed = time.monotonic() - started
    assert slow.value.code == "image_download_timeout"
    assert 1.4 < elapsed < 2.0, elapsed  # each byte comes within 0.2 s: a per-read timeout
    # would never fire


def test_redirects_are_followed_at_most_five_times(server):
    with pytest.raises(ProviderError) as failed:
        fetch(f"http://127.0.0.1:{server.port}/loop", allowed_networks=LOOPBACK)
    assert failed.value.code == "image_download_failed"
    assert len(server.requests) == 6


def test_a_declared_length_over_the_cap_is_refused_before_reading(server):
    with pytest.raises(InvalidImage, match="larger than"):
        fetch(f"http://127.0.0.1:{server.port}/huge", allowed_networks=LOOPBACK)


def test_an_endless_body_is_cut_at_the_byte_cap(server):
    started = time.monotonic()
    with pytest.raises(InvalidImage, match="larger than 2 MB"):
        fetch(
            f"http://127.0.0.1:{server.port}/endless",
            allowed_networks=LOOPBACK,
            max_bytes=2 * 1_048_576,
        )
    assert time.monotonic() - started < 3


def test_only_web_links_are_fetched():
    for url in ("file:///etc/passwd", "ftp://example.com/x.png", "gopher://x/", "http:///x"):
        with pytest.raises(ProviderError) as refused:
            fetch(url)
        assert refused.value.code == "image_link_refused"


def test_a_link_with_unicode_in_its_path_is_fetched_percent_encoded(server):
    url = f"http://127.0.0.1:{server.port}/图片/猫 1.png?名=值"
    assert fetch(url, allowed_networks=LOOPBACK) == PNG
    assert server.requests[0]["path"] == (
        "/%E5%9B%BE%E7%89%87/%E7%8C%AB%201.png?%E5%90%8D=%E5%80%BC"
    )
