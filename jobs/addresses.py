"""Which addresses a provider's link may lead the worker to.

Only globally routable ones, unless a connection's administrator lists a network or a
host name (a self-hosted proxy on the LAN). Plain standard library, so settings can
check an allow-list at start-up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_is_public(address: IPAddress) -> bool:
    """Globally routable unicast: no loopback, private, link-local (cloud metadata),
    shared (CGNAT), reserved, multicast, or such an address wrapped in IPv6."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """What one connection's downloads may reach besides the public internet."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def allows(self, host: str, address: IPAddress) -> bool:
        if address_is_public(address):
            return True
        if host.lower().rstrip(".") in self.hosts:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)


def allow_list_entries(raw: str | Iterable[str]) -> list[str]:
    """An administrator's list, from a comma/newline separated text or a list, checked.

    Each entry is an address, a network (``192.168.1.0/24``) or a host name. Raises
    ValueError naming the first entry that is none of these."""
    items = raw.replace(",", "\n").splitlines() if isinstance(raw, str) else list(raw)
    entries = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not an address, a network or a host name")
        entry = item.strip()
        if entry:
            _parse_entry(entry)
            entries.append(entry)
    return entries


def _parse_entry(entry: str) -> IPNetwork | str:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        pass
    name = entry.lower().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_is_label(label) for label in labels):
        raise ValueError(f"{entry!r} is not an address, a network or a host name")
    return name


def _is_label(label: str) -> bool:
    return 0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()


def address_policy(entries: Iterable[str] = ()) -> AddressPolicy:
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for entry in entries:
        parsed = _parse_entry(entry)
        if isinstance(parsed, str):
            hosts.add(parsed)
        else:
            networks.append(parsed)
    return AddressPolicy(networks=tuple(networks), hosts=frozenset(hosts))
