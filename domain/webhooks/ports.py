"""The ports that send a webhook over HTTP and resolve the names of its hosts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    status: int | None  # None: no answer (timeout, refused, DNS, an address not allowed)
    error: str | None = None  # the detail, for the server log only

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses a name resolves to; raises OSError when it does not resolve."""
        ...
