"""The webhook sender connects to the address it checked, and speaks to the name it was given."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trustme

from domain.webhooks.targets import UrlPolicy
from integrations.webhooks.http import HttpWebhookSender
from tests.fakes.resolver import FakeResolver

NAME = "hooks.partner.test"


@dataclass
class TlsReceiver:
    """A bare HTTPS endpoint on 127.0.0.1 with a certificate for NAME only."""

    port: int = 0
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in head.split("\r\n")[1:]
                                              if ": " in line)}
        await reader.readexactly(int(headers.get("content-length", "0")))
        self.hosts.append(headers.get("host", ""))
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_receiver(ca: trustme.CA) -> AsyncIterator[TlsReceiver]:
    receiver = TlsReceiver()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(context)

    def note_server_name(_: object, name: str | None, __: object) -> None:
        receiver.server_names.append(name)

    context.sni_callback = note_server_name  # type: ignore[assignment]
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=context)
    receiver.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiver


def _sender(ca: trustme.CA, policy: UrlPolicy) -> HttpWebhookSender:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return HttpWebhookSender(policy, timeout=5, ssl_context=context)


async def test_https_to_a_pinned_address_keeps_the_name_for_sni_host_and_certificate(
    ca: trustme.CA, tls_receiver: TlsReceiver,
) -> None:
    resolver = FakeResolver({NAME: ["127.0.0.1"]})
    sender = _sender(ca, UrlPolicy(resolver, allow_private=True))
    try:
        result = await sender.send(f"https://{NAME}:{tls_receiver.port}/in", b"{}", {})
        # The certificate names only NAME: connecting to 127.0.0.1 verified it by the name.
        assert (result.status, result.error) == (204, None)
        assert tls_receiver.server_names == [NAME]
        assert tls_receiver.hosts == [f"{NAME}:{tls_receiver.port}"]
        assert resolver.asked == [NAME]  # resolved once, by the policy
    finally:
        await sender.close()


async def test_a_name_with_any_internal_address_is_not_connected_to(
    ca: trustme.CA, tls_receiver: TlsReceiver,
) -> None:
    resolver = FakeResolver({NAME: ["93.184.216.34", "127.0.0.1"]})
    sender = _sender(ca, UrlPolicy(resolver))
    try:
        result = await sender.send(f"https://{NAME}:{tls_receiver.port}/in", b"{}", {})
        assert result.status is None and "refused by policy" in (result.error or "")
        assert "127.0.0.1" in (result.error or "")
        for literal in ("127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"):
            refused = await sender.send(f"https://{literal}:{tls_receiver.port}/in", b"{}", {})
            assert refused.status is None and "refused by policy" in (refused.error or "")
        assert tls_receiver.server_names == [] and tls_receiver.hosts == []  # nothing reached
    finally:
        await sender.close()
