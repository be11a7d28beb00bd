"""Offline payments (cash on delivery, bank transfer, invoice): staff record the money."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.payments.ports import GatewayEvent, GatewayResult, InvalidWebhook


class ManualGateway:
    name = "manual"

    def methods(self) -> frozenset[str]:
        return frozenset({"cash_on_delivery", "bank_transfer", "invoice"})

    async def authorize(self, *, amount: Decimal, currency: str, method: str, key: str,
                        metadata: Mapping[str, str]) -> GatewayResult:
        # Nothing is held: the payment waits for the money, which staff record as a capture.
        return GatewayResult(reference=f"manual:{metadata.get('payment_id', key)}")

    async def capture(self, *, reference: str, amount: Decimal, currency: str,
                      key: str, final: bool = True) -> GatewayResult:
        return GatewayResult(reference=reference, amount_captured=amount)

    async def void(self, *, reference: str, key: str) -> GatewayResult:
        return GatewayResult(reference=reference)

    async def refund(self, *, reference: str, amount: Decimal, currency: str,
                     key: str) -> GatewayResult:
        return GatewayResult(reference=f"manual-refund:{key}")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise InvalidWebhook("manual payments have no webhooks")
