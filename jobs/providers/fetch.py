"""The one door every provider image link goes through (issue 10, item 1).

A link in a provider's answer is data an outsider controls: a chat reply's words follow the
user's prompt, and a proxy can answer anything. So every download:

- resolves the host once (``socket.getaddrinfo``), checks every address, and connects to the
  address it checked (a pinned httpcore network backend: no second lookup, while the Host
  header and TLS SNI/certificate check still use the link's name);
- accepts only globally routable addresses, unless the connection's administrator listed the
  host or a network it is in (``allowed_networks``, off by default);
- follows redirects itself, at most ``MAX_REDIRECTS``, checking every hop the same way;
- ends at a total deadline (wall clock, over every connect, read and redirect);
- asks for ``Accept-Encoding: identity`` and refuses any other ``Content-Encoding``, so the
  bytes counted on the wire are the bytes kept, under a byte cap;
- keeps nothing that does not look like a PNG, JPEG, WebP or GIF (type and signature).

Errors shown to users say what happened; the host, port and body go to the log only.

``guarded_post`` sends a body under the same address rules (resolved once, every address
checked, connected to the checked one) for callers that POST to a URL a user gave, such as
webhooks; it follows no redirect and reads only the first bytes of the answer.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import httpcore

from gallery.imaging import InvalidImage
from jobs.addresses import AddressPolicy, address_policy, allow_list_entries
from jobs.providers.base import ProviderResult
from jobs.providers.errors import ProviderError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
EXPIRED_STATUSES = {401, 403, 404, 410}
# Types a provider may label an image with; a generic binary type is judged by signature.
IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"}
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


def image_signature(head: bytes) -> str | None:
    """The image format the first bytes announce (PNG, JPEG, WEBP, GIF), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


# -- who may be reached: jobs.addresses (globally routable, or listed per connection) ----


def _ip(address: str):
    return ipaddress.ip_address(address.split("%", 1)[0])


def _resolve(host: str, port: int, policy: AddressPolicy, deadline: float) -> str:
    """The one address to connect to; every address the name has must be allowed."""
    if time.monotonic() >= deadline:
        raise _timeout()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ProviderError(
            "image_download_failed", detail=f"cannot resolve {host}: {exc}"
        ) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if not policy.allows(host, _ip(a))]
    if not addresses or refused:
        logger.warning(
            "refused a provider image link to %s (%s): not a public address and not allowed "
            "for this connection",
            host,
            ", ".join(refused or addresses),
        )
        raise ProviderError("image_link_refused", detail=f"{host} -> {', '.join(refused)}")
    return addresses[0]


# -- the pinned, deadline-bound transport ------------------------------------------


class _DeadlineStream(httpcore.NetworkStream):
    """Every read and write waits at most until the download's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float):
        self._stream = stream
        self._deadline = deadline

    def _timeout(self, timeout: float | None) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the download's total deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._timeout(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, self._timeout(timeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the address that was checked, whatever name httpcore asks for."""

    def __init__(self, host: str, address: str, deadline: float):
        self._host, self._address, self._deadline = host, address, deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host.lower().strip("[]") != self._host.lower():
            raise httpcore.ConnectError("refusing to connect to a host that was not checked")
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ConnectTimeout("the download's total deadline passed")
        timeout = remaining if timeout is None else min(timeout, remaining)
        stream = self._backend.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("no unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _timeout() -> ProviderError:
    return ProviderError("image_download_timeout", detail="total deadline passed")


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str:
    values = [v.decode("latin-1").strip() for k, v in headers if k.lower() == name]
    return ", ".join(v for v in values if v)


# -- the download -------------------------------------------------------------------


def guarded_fetch(
    url: str,
    *,
    allowed_networks: Iterable[str] = (),
    timeout: float,
    max_bytes: int,
    max_redirects: int = MAX_REDIRECTS,
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """The image at ``url``: checked hop by hop, within ``timeout`` seconds in all, at most
    ``max_bytes`` bytes, and an image by type and signature.

    Raises ProviderError (``image_link_refused``, ``image_url_expired``,
    ``image_download_failed``, ``image_download_timeout``) or InvalidImage (too large,
    compressed, not an image); their messages name no host, port or body.
    """
    sink = io.BytesIO()
    guarded_fetch_into(
        url,
        sink,
        allowed_networks=allowed_networks,
        timeout=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        ssl_context=ssl_context,
    )
    return sink.getvalue()


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


def guarded_fetch_into(
    url: str,
    sink: Sink,
    *,
    allowed_networks: Iterable[str] = (),
    timeout: float,
    max_bytes: int,
    max_redirects: int = MAX_REDIRECTS,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """``guarded_fetch``, writing the body into ``sink`` chunk by chunk as it arrives (the
    I/O stage spools it to a temporary file, so a big image never sits whole in memory);
    returns its size. On an error ``sink`` may hold part of a body: discard it."""
    policy = address_policy(allow_list_entries(list(allowed_networks)))
    deadline = time.monotonic() + timeout
    ssl_context = ssl_context or ssl.create_default_context()
    for _hop in range(max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            logger.warning("refused a provider image link with scheme %r", parts.scheme)
            raise ProviderError("image_link_refused", detail=f"scheme {parts.scheme!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            url, host = _ascii_url(parts)
        except (ValueError, UnicodeError) as exc:
            raise ProviderError("image_link_refused", detail="malformed link") from exc
        address = _resolve(host, port, policy, deadline)
        result = _one_hop(
            url,
            host=host,
            address=address,
            deadline=deadline,
            max_bytes=max_bytes,
            ssl_context=ssl_context,
            sink=sink,
        )
        if isinstance(result, int):
            return result
        url = result  # a redirect: check the next hop like the first
    logger.warning("a provider image link redirected more than %d times", max_redirects)
    raise ProviderError("image_download_failed", detail="too many redirects")


def _ascii_url(parts) -> tuple[str, str]:
    """The link as plain ASCII (IDNA host, percent-encoded path and query), without userinfo
    or fragment, and its host; http clients take nothing else."""
    host = (
        parts.hostname.encode("idna").decode("ascii")
        if not parts.hostname.isascii()
        else (parts.hostname)
    )
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return urlunsplit((parts.scheme, netloc, path, query, "")), host


def _one_hop(url, *, host, address, deadline, max_bytes, ssl_context, sink) -> int | str:
    """The body's size (the body written to ``sink``), or the next URL when this hop
    redirects."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timeout()
    backend = _PinnedBackend(host, address, deadline)
    try:
        with httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=1, retries=0
        ) as pool:
            with pool.stream(
                "GET",
                url,
                headers=[
                    (b"Accept", b"image/png, image/jpeg, image/webp, image/gif"),
                    (b"Accept-Encoding", b"identity"),
                    (b"User-Agent", b"Atelier image fetcher"),
                ],
                extensions={
                    "timeout": {
                        "connect": remaining,
                        "read": remaining,
                        "write": remaining,
                        "pool": remaining,
                    }
                },
            ) as response:
                return _read_response(
                    url, response, max_bytes=max_bytes, deadline=deadline, sink=sink
                )
    except httpcore.TimeoutException as exc:
        logger.warning("a provider image download from %s passed its deadline", host)
        raise _timeout() from exc
    except httpcore.ProtocolError as exc:
        raise ProviderError("image_download_failed", detail=f"{host}: {exc}") from exc
    except (httpcore.NetworkError, httpcore.UnsupportedProtocol, ssl.SSLError, OSError) as exc:
        raise ProviderError("image_download_failed", detail=f"{host}: {exc}") from exc


def _read_response(url, response, *, max_bytes: int, deadline: float, sink) -> int | str:
    status = response.status
    headers = response.headers
    if status in REDIRECT_STATUSES:
        location = _header(headers, b"location")
        if not location:
            raise ProviderError("image_download_failed", detail=f"{status} without Location")
        return urljoin(url, location)
    if status in EXPIRED_STATUSES:
        raise ProviderError("image_url_expired", http_status=status)
    if status != 200:
        raise ProviderError("image_download_failed", http_status=status, detail=str(status))
    encoding = _header(headers, b"content-encoding").lower()
    if encoding not in ("", "identity"):
        logger.warning("refused a provider image sent with Content-Encoding %r", encoding[:100])
        raise InvalidImage("The provider's link sent it compressed, which Atelier refuses.")
    content_type = _header(headers, b"content-type").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES | GENERIC_TYPES:
        logger.warning("refused a provider image link answering %r", content_type[:100])
        raise InvalidImage("The provider's link did not answer with an image.")
    limit_text = f"{max_bytes // 1_048_576} MB" if max_bytes >= 1_048_576 else f"{max_bytes} B"
    declared = _header(headers, b"content-length")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InvalidImage(f"The image is larger than {limit_text}.")
    head = b""  # the first bytes, for the signature; the rest goes straight to the sink
    size = 0
    for chunk in response.iter_stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidImage(f"The image is larger than {limit_text}.")
        if len(head) < 12:
            head += chunk[: 12 - len(head)]
            if len(head) >= 12 and image_signature(head) is None:
                raise InvalidImage("The provider's link did not answer with an image.")
        sink.write(chunk)
        if time.monotonic() > deadline:
            raise _timeout()
    if image_signature(head) is None:
        raise InvalidImage("The provider's link did not answer with an image.")
    return size


# -- a guarded POST -----------------------------------------------------------------


class AddressRefused(Exception):
    """The URL leads somewhere Atelier may not go; nothing was sent."""


class PostFailed(Exception):
    """No HTTP answer: the name did not resolve, the connection failed or timed out."""


@dataclass(frozen=True)
class PostAnswer:
    status: int
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes  # at most the caller's ``max_answer_bytes``

    def header(self, name: str) -> str:
        return _header(self.headers, name.lower().encode())


def _post_target(url: str, allowed_networks: Iterable[str]) -> tuple[str, str, str]:
    """(ascii url, host, the one address to connect to), or AddressRefused / PostFailed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Only http and https URLs can be reached.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ascii_url, host = _ascii_url(parts)
    except (ValueError, UnicodeError) as exc:
        raise AddressRefused("The URL is malformed.") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise PostFailed(f"The host name {host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    policy = address_policy(allow_list_entries(list(allowed_networks)))
    refused = [a for a in addresses if not policy.allows(host, _ip(a))]
    if not addresses or refused:
        raise AddressRefused(
            f"{host} leads to an address Atelier may not reach ({', '.join(refused)}): "
            "only public addresses, unless the operator allows a network."
        )
    return ascii_url, host, addresses[0]


def address_check(url: str, *, allowed_networks: Iterable[str] = ()) -> None:
    """Raises AddressRefused (or PostFailed when the name does not resolve) unless
    ``guarded_post`` may send to ``url`` now; for checking a URL when a user gives it."""
    _post_target(url, allowed_networks)


def guarded_post(
    url: str,
    *,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    allowed_networks: Iterable[str] = (),
    timeout: float,
    max_answer_bytes: int = 4096,
    ssl_context: ssl.SSLContext | None = None,
) -> PostAnswer:
    """POST ``body`` to ``url`` under the fetcher's address rules, within ``timeout`` seconds
    in all. A 3xx is an answer like any other (not followed). Raises AddressRefused or
    PostFailed."""
    deadline = time.monotonic() + timeout
    ascii_url, host, address = _post_target(url, allowed_networks)
    backend = _PinnedBackend(host, address, deadline)
    request_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    request_headers.append((b"Accept-Encoding", b"identity"))
    remaining = max(deadline - time.monotonic(), 0.001)
    try:
        with httpcore.ConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            network_backend=backend,
            max_connections=1,
            retries=0,
        ) as pool:
            with pool.stream(
                "POST",
                ascii_url,
                headers=request_headers,
                content=body,
                extensions={
                    "timeout": {
                        "connect": remaining,
                        "read": remaining,
                        "write": remaining,
                        "pool": remaining,
                    }
                },
            ) as response:
                excerpt = bytearray()
                for chunk in response.iter_stream():
                    excerpt += chunk
                    if len(excerpt) >= max_answer_bytes:
                        break
                return PostAnswer(
                    response.status, response.headers, bytes(excerpt[:max_answer_bytes])
                )
    except httpcore.TimeoutException as exc:
        raise PostFailed(f"No answer within {timeout:g} s.") from exc
    except (httpcore.ProtocolError, httpcore.NetworkError, httpcore.UnsupportedProtocol) as exc:
        raise PostFailed(f"Connection failed: {exc}"[:300]) from exc
    except (ssl.SSLError, OSError) as exc:
        raise PostFailed(f"Connection failed: {exc}"[:300]) from exc


def reply_capped(result: ProviderResult, *, limit: int, job) -> ProviderResult:
    """A reply yields at most ``limit`` images: the first ones are kept (and counted), the
    rest are ignored and logged, so a prompt cannot turn one paid reply into 25 images."""
    if len(result.items) <= limit:
        return result
    logger.warning(
        "job %s: the reply held %d images; kept the first %d, ignored the rest",
        job.id,
        len(result.items),
        limit,
    )
    result.items = result.items[:limit]
    return result
