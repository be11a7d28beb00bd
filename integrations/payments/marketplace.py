"""Payments a marketplace took (Shopify, Amazon): the marketplace holds the money.

An imported order's payment is recorded as the marketplace reports it; this gateway
moves no money. A capture or void of an authorisation records what is done on the
marketplace; a refund is refused (``domain.payments.service`` refuses it first, with
PAYMENT_FAILED): the merchant refunds on the marketplace.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.payments.ports import GatewayDeclined, GatewayEvent, GatewayResult, InvalidWebhook
from domain.payments.service import MARKETPLACE


class MarketplaceGateway:
    name = MARKETPLACE

    def methods(self) -> frozenset[str]:
        return frozenset()  # nobody opens one: imports record them (paymentCreate refuses)

    async def authorize(self, *, amount: Decimal, currency: str, method: str, key: str,
                        metadata: Mapping[str, str]) -> GatewayResult:
        raise GatewayDeclined("marketplace payments are taken by the marketplace")

    async def capture(self, *, reference: str, amount: Decimal, currency: str,
                      key: str, final: bool = True) -> GatewayResult:
        return GatewayResult(reference=reference, amount_captured=amount)

    async def void(self, *, reference: str, key: str) -> GatewayResult:
        return GatewayResult(reference=reference)

    async def refund(self, *, reference: str, amount: Decimal, currency: str,
                     key: str) -> GatewayResult:
        raise GatewayDeclined("refund it on the marketplace, which holds the money")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise InvalidWebhook("marketplace payments have no webhooks here")
