"""POSTing a webhook under the guarded fetcher's address rules (jobs.providers.fetch).

An endpoint's URL is data its owner controls, so like a provider's image link it may lead
only to globally routable addresses, unless the operator lists a network or host
(``ATELIER_WEBHOOK_ALLOWED_NETWORKS``). The host is resolved once, every address checked,
and the connection made to the checked address (the fetcher's pinned backend), so a DNS
answer that changes between the check and the connect (rebinding) cannot redirect it.
Redirects are not followed: a 3xx is an answer like any other non-2xx. One deadline
covers connect, send and read; the answer's body is read only up to a small cap.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

from jobs.addresses import address_policy, allow_list_entries
from jobs.providers.fetch import _ascii_url, _ip, _PinnedBackend

RESPONSE_CAP_BYTES = 4096


class Refused(Exception):
    """The URL leads somewhere Atelier may not go; nothing was sent."""


class SendFailed(Exception):
    """No HTTP answer: the name did not resolve, the connection failed or timed out."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str:
        wanted = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == wanted), "")


def _checked(url: str, allowed_networks: Iterable[str]) -> tuple[str, str, int, str]:
    """(ascii url, host, port, the one address to connect to), or Refused / SendFailed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Only http and https URLs can receive webhooks.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ascii_url, host = _ascii_url(parts)
    except (ValueError, UnicodeError) as exc:
        raise Refused("The URL is malformed.") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SendFailed(f"The host name {host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    policy = address_policy(allow_list_entries(list(allowed_networks)))
    refused = [a for a in addresses if not policy.allows(host, _ip(a))]
    if not addresses or refused:
        raise Refused(
            f"{host} leads to an address Atelier may not reach ({', '.join(refused)}): "
            "only public addresses, unless the operator allows a network."
        )
    return ascii_url, host, port, addresses[0]


def url_check(url: str, *, allowed_networks: Iterable[str]) -> None:
    """Raises Refused (or SendFailed when the name does not resolve) for a URL that cannot
    receive webhooks; used when an endpoint is registered."""
    _checked(url, allowed_networks)


def guarded_post(
    url: str,
    *,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    allowed_networks: Iterable[str],
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    deadline = time.monotonic() + timeout
    ascii_url, host, _port, address = _checked(url, allowed_networks)
    backend = _PinnedBackend(host, address, deadline)
    request_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    request_headers += [
        (b"Content-Type", b"application/json"),
        (b"User-Agent", b"Atelier-Webhooks/1"),
        (b"Accept-Encoding", b"identity"),
    ]
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
                    if len(excerpt) >= RESPONSE_CAP_BYTES:
                        break
                return Answer(
                    response.status, response.headers, bytes(excerpt[:RESPONSE_CAP_BYTES])
                )
    except httpcore.TimeoutException as exc:
        raise SendFailed(f"No answer within {timeout:g} s.") from exc
    except (httpcore.ProtocolError, httpcore.NetworkError, httpcore.UnsupportedProtocol) as exc:
        raise SendFailed(f"Connection failed: {exc}"[:300]) from exc
    except (ssl.SSLError, OSError) as exc:
        raise SendFailed(f"Connection failed: {exc}"[:300]) from exc
