"""A real SMTP server (aiosmtpd) in the test's event loop, on a free port: it records every
message that arrives, checks logins, can offer STARTTLS, and can refuse messages."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Arrived:
    mail_from: str
    to: list[str]
    message: EmailMessage
    login: str | None
    tls: bool

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype, self.message
        return str(body.get_content())  # type: ignore[attr-defined]


class SmtpServer:
    def __init__(self, *, users: dict[str, str] | None = None,
                 tls_context: ssl.SSLContext | None = None, require_starttls: bool = False,
                 implicit_tls: ssl.SSLContext | None = None) -> None:
        self.users = users or {}
        self.implicit_tls = implicit_tls  # smtps: TLS from the first byte
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.arrived: list[Arrived] = []
        self.refuse = 0  # answer the next this many messages with 451
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = 0

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        message = message_from_bytes(envelope.content, policy=default)
        async with self._changed:
            self.arrived.append(Arrived(
                mail_from=envelope.mail_from, to=list(envelope.rcpt_tos),
                message=message, login=getattr(session, "auth_data", None),
                tls=session.ssl is not None or self.implicit_tls is not None))
            self._changed.notify_all()
        return "250 OK"

    def _protocol(self) -> SMTP:
        return SMTP(self, hostname="mail.test", authenticator=self._authenticate,
                    auth_required=bool(self.users), auth_require_tls=self.tls_context is not None
                    and self.implicit_tls is None,
                    tls_context=self.tls_context, require_starttls=self.require_starttls)

    async def start(self) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", self.port,
                                               ssl=self.implicit_tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def url(self, user: str | None = None, query: str = "") -> str:
        auth = f"{user}:{self.users[user]}@" if user else ""
        return f"smtp://{auth}127.0.0.1:{self.port}{query}"

    def to(self, address: str) -> list[Arrived]:
        return [m for m in self.arrived if address in m.to]

    async def wait_for(self, count: int, seconds: float = 15) -> list[Arrived]:
        """Wait until ``count`` messages arrived (woken by each arrival, no sleeping)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.arrived) >= count),
                                   seconds)
        return self.arrived[:count]

    async def __aenter__(self) -> SmtpServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
