"""Messages to people: the port an email sender implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery; raises when it could not be handed over."""
        ...
