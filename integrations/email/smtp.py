"""Email through an SMTP server (aiosmtplib), from ``OMS_SMTP_URL``.

``smtp://user:password@host:587`` speaks plain SMTP and upgrades with STARTTLS when the
server offers it (``?starttls=required`` refuses to go on without it, ``?starttls=off``
never tries); ``smtps://host:465`` is TLS from the first byte. The user name and password
come from the URL (percent-encoded) or beside it (``OMS_SMTP_USERNAME``,
``OMS_SMTP_PASSWORD``, which win).

A connection or login that fails, and a message the server answers with a refusal, are
:class:`Undelivered` (nothing was sent: trying again is safe). A connection lost while the
message is being handed over leaves the outcome unknown and is raised as it is.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from domain.messaging.ports import EmailMessage, Undelivered

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    implicit_tls: bool
    start_tls: bool | None  # None: when the server offers it
    username: str | None
    password: str | None


def parse_smtp_url(url: str, *, username: str | None = None,
                   password: str | None = None) -> SmtpUrl:
    """Read OMS_SMTP_URL; ValueError with a sentence when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("OMS_SMTP_URL must look like smtp://user:password@host:587 or "
                         f"smtps://host:465, got {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"OMS_SMTP_URL has a bad port: {url!r}") from None
    mode = (parse_qs(parts.query).get("starttls") or ["auto"])[0]
    if mode not in ("auto", "required", "off"):
        raise ValueError("OMS_SMTP_URL's starttls is auto, required or off")
    return SmtpUrl(
        host=parts.hostname, port=port, implicit_tls=parts.scheme == "smtps",
        start_tls=None if parts.scheme == "smtps" or mode == "auto" else mode == "required",
        username=username or (unquote(parts.username) if parts.username else None),
        password=password or (unquote(parts.password) if parts.password else None))


def mime(message: EmailMessage, sender: str) -> MimeMessage:
    """The message as sent: plain text, and HTML beside it (multipart/alternative)."""
    out = MimeMessage()
    out["From"] = message.sender or sender
    out["To"] = message.to
    out["Subject"] = message.subject
    out["Date"] = formatdate(localtime=False)
    out["Message-ID"] = message.message_id or make_msgid(domain="oms")
    out.set_content(message.text)
    if message.html is not None:
        out.add_alternative(message.html, subtype="html")
    return out


class _Session:
    def __init__(self, client: aiosmtplib.SMTP, sender: str) -> None:
        self.client = client
        self.sender = sender

    async def send(self, message: EmailMessage) -> None:
        if not self.client.is_connected:  # dropped after an earlier message: this one not sent
            raise Undelivered("the SMTP server closed the connection")
        try:
            await self.client.send_message(mime(message, self.sender))
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused,
                aiosmtplib.SMTPDataError) as refused:
            raise Undelivered(f"the SMTP server refused the message: {refused}") from refused
        except aiosmtplib.SMTPResponseException as refused:
            if refused.code >= 400:  # an answer, not a lost connection: nothing was taken
                raise Undelivered(f"the SMTP server refused the message: {refused}") from None
            raise


class SmtpMailer:
    def __init__(self, url: str, *, sender: str, username: str | None = None,
                 password: str | None = None, tls_context: ssl.SSLContext | None = None,
                 timeout: float = 30.0) -> None:
        self.target = parse_smtp_url(url, username=username, password=password)
        self.sender = sender
        self.tls_context = tls_context
        self.timeout = timeout

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[_Session]:
        t = self.target
        client = aiosmtplib.SMTP(hostname=t.host, port=t.port, use_tls=t.implicit_tls,
                                 start_tls=t.start_tls, username=t.username,
                                 password=t.password, timeout=self.timeout,
                                 tls_context=self.tls_context)
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise Undelivered(f"could not reach the SMTP server at {t.host}:{t.port}: "
                              f"{type(error).__name__}: {error}") from error
        try:
            yield _Session(client, self.sender)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def send(self, message: EmailMessage) -> None:
        async with self.connect() as session:
            await session.send(message)
