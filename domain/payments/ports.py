"""The payment gateway port, and the errors its adapters translate vendor failures into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class GatewayDeclined(Exception):
    """The gateway answered no (card declined, invalid request): retrying will not help."""


class GatewayUnavailable(Exception):
    """No answer (timeout, network, 5xx): the outcome is unknown and the call may be retried."""


class InvalidWebhook(Exception):
    """A gateway webhook whose signature does not verify, or is stale."""


@dataclass(frozen=True)
class GatewayResult:
    reference: str  # the gateway's id of the payment (or of the refund)
    client_secret: str | None = None
    amount_authorized: Decimal | None = None
    amount_captured: Decimal | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """A webhook, translated: what happened to which payment."""

    event_id: str
    kind: str  # authorized | captured | failed | refunded | disputed | ignored
    reference: str | None = None
    amount: Decimal | None = None
    message: str | None = None


class PaymentGateway(Protocol):
    name: str

    def methods(self) -> frozenset[str]:
        """The payment methods this gateway takes (card, alipay, bank_transfer, ...)."""

    async def authorize(
        self, *, amount: Decimal, currency: str, method: str, key: str,
        metadata: Mapping[str, str],
    ) -> GatewayResult: ...

    async def capture(
        self, *, reference: str, amount: Decimal, currency: str, key: str, final: bool = True
    ) -> GatewayResult:
        """Capture part or all of an authorisation; ``final`` releases what is left."""

    async def void(self, *, reference: str, key: str) -> GatewayResult: ...

    async def refund(
        self, *, reference: str, amount: Decimal, currency: str, key: str
    ) -> GatewayResult: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a webhook against the raw body; raise InvalidWebhook when it does not."""
