"""Which addresses a webhook may be sent to: public ones only (no internal port scanning).

Pure functions: the resolver and the connection live in integrations/webhooks, and
call these on every address a name resolves to, just before connecting.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address

# Cloud metadata services: AWS, GCP and Azure (IPv4), AWS (IPv6), Alibaba.
METADATA = frozenset(ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
NAT64 = IPv6Network("64:ff9b::/96")  # IPv4 addresses reached through a NAT64 gateway
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _number(label: str) -> int | None:
    """One part of an IPv4 address as browsers and resolvers read it: 0x hex, 0 octal."""
    try:
        if label[:2].lower() == "0x":
            return int(label[2:] or "0", 16)
        if len(label) > 1 and label.startswith("0"):
            return int(label[1:], 8)
        return int(label, 10) if label.isdigit() else None
    except ValueError:
        return None


def ipv4_of(host: str) -> IPv4Address | None:
    """The address an IPv4 host literal means in any form getaddrinfo accepts:
    127.0.0.1, 2130706433, 0x7f000001, 0177.0.0.1, 127.1; None for a name."""
    labels = host.removesuffix(".").split(".")
    numbers = [_number(label) for label in labels]
    if not 1 <= len(labels) <= 4 or any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(labels)):
        return None
    value = last
    for position, part in enumerate(head):
        value += part << (8 * (3 - position))
    return IPv4Address(value)


def address_of(host: str) -> IPAddress | None:
    """The address a URL's host names literally (IPv6 without brackets), or None for a name."""
    if ":" in host:
        try:
            return IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    return ipv4_of(host)


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address that an IPv6 form carries: mapped, 6to4, Teredo, NAT64, compatible."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d (deprecated "compatible")
        return IPv4Address(int(address))
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to this address, or None when it is a public one."""
    if address in METADATA:
        return "cloud metadata address"
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal(embedded)
            return f"{reason} (in an IPv6 form)" if reason else None
    for reason, applies in (
        ("unspecified address", address.is_unspecified),
        ("loopback address", address.is_loopback),
        ("link-local address", address.is_link_local),
        ("multicast address", address.is_multicast),
        ("private address", address.is_private),
        ("reserved address", address.is_reserved),
    ):
        if applies:
            return reason
    if not address.is_global:  # shared (100.64/10), documentation, benchmarking ranges
        return "non-public address"
    return None


def url_problem(url: str) -> str | None:
    """What makes a URL unfit for webhooks before any lookup, in words for its owner."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return "Give a valid http(s) URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Give an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return "A webhook URL carries no user name or password"
    return None


def host_refusal(host: str) -> str | None:
    """Why a URL's host is refused without resolving it: a loopback name or a
    literal address that is not public. None for other names (resolved later)."""
    name = host.lower().removesuffix(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return "loopback name"
    address = address_of(name)
    if address is not None:
        return refusal(address)
    if name.replace(".", "").isdigit() or name.split(".")[-1].isdigit():
        return "malformed address"  # numeric but no address: resolvers read these differently
    return None
