"""Messages to people: the ports an email sender and an SMS provider implement.

Sending is in two steps so that a message is never sent twice: ``connect`` opens the way
to the server (nothing is sent yet: any failure there can be tried again), then
``send`` hands the message over. ``send`` raises :class:`Undelivered` when the server
answered that it did not take the message (safe to try again); any other error leaves
the outcome unknown.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


class Undelivered(Exception):
    """The server did not take the message (refused, or could not be reached): nothing was
    sent, and trying again later is safe."""


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None  # with it, the message is multipart/alternative
    # Stable per notification, so a receiving server can tell a repeat.
    message_id: str | None = None
    sender: str | None = None  # the From address; None: the mailer's own


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery; raises when it could not be handed over."""
        ...


class EmailSession(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand one message over (``Undelivered`` when the server refused it)."""
        ...


class EmailTransport(Mailer, Protocol):
    def connect(self) -> AbstractAsyncContextManager[EmailSession]:
        """A connection to the server, ready to take messages (``Undelivered`` when the
        server cannot be reached or refuses the login)."""
        ...


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, e.g. +4915112345678
    body: str


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> str:
        """Hand the message to the provider; return its id for the message.
        ``Undelivered`` when the provider refused it or could not be reached."""
        ...

    async def close(self) -> None: ...
