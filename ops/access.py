"""Who may read metrics: a bearer token, or an address in an allow-list of networks."""

from __future__ import annotations

import hmac
import ipaddress

from django.core.exceptions import ImproperlyConfigured


def parse_networks(items: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"ATELIER_METRICS_ALLOW: {item!r} is not an address or network"
            ) from None
    return networks


def metrics_access(*, authorization: str, remote_addr: str, token: str, allow: list) -> int:
    """200 when allowed, else 401 (a token is configured and was not given) or 403."""
    if token and authorization.startswith("Bearer "):
        if hmac.compare_digest(authorization[7:].strip().encode(), token.encode()):
            return 200
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        address = None
    if address is not None and any(address in network for network in allow):
        return 200
    return 401 if token else 403
