"""The caller's address: the direct peer, or what trusted proxies in front of us say.

``X-Forwarded-For`` and ``Forwarded`` are believed only when the direct peer is one of
``OMS_TRUSTED_PROXIES``; then the hops are read from the right and the first address
that is not a trusted proxy is the client (what left of it a client wrote itself is not
believed). ``X-Forwarded-For`` is read when present, else ``Forwarded``: the proxy must
set (or strip) the one it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _parse(raw: str) -> IPv4Address | IPv6Address | None:
    value = raw.strip().strip('"')
    if value.startswith("["):  # [v6]:port
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # v4:port
        value = value.partition(":")[0]
    try:
        return ip_address(value)
    except ValueError:
        return None  # "unknown", obfuscated identifiers, garbage


def _forwarded_hops(headers: Mapping[str, str]) -> list[str]:
    xff = headers.get("x-forwarded-for")
    if xff:
        return [hop for hop in xff.split(",")]
    hops = []
    for element in (headers.get("forwarded") or "").split(","):
        for pair in element.split(";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                hops.append(value)
    return hops


def _trusted(address: IPv4Address | IPv6Address | None, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address in net for net in proxies)


def client_address(peer: str | None, headers: Mapping[str, str],
                   trusted_proxies: Sequence[Network]) -> str:
    """The address to throttle and budget a caller by."""
    if peer is None:
        return "unknown"
    if not _trusted(_parse(peer), trusted_proxies):
        return peer
    for hop in reversed(_forwarded_hops(headers)):
        address = _parse(hop)
        if address is None:
            return "unknown"  # a hop we cannot read: nothing left of it can be believed
        if not _trusted(address, trusted_proxies):
            return str(address)
    return peer  # every hop is one of our proxies: the request began among them
