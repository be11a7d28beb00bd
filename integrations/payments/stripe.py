"""Stripe through the official SDK's async client (StripeClient with its HTTPX client).

Cards are authorised at order time and captured later (``capture_method:
manual``); Alipay and WeChat Pay capture at once, as Stripe requires. Every
call carries our deterministic idempotency key, so a repeated call is applied
once. Amounts cross this boundary in the currency's minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe

from domain.money import exponent
from domain.payments.ports import (
    GatewayDeclined,
    GatewayEvent,
    GatewayResult,
    GatewayUnavailable,
    InvalidWebhook,
)

MANUAL_CAPTURE_METHODS = frozenset({"card"})
EVENT_KINDS = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "captured",
    "payment_intent.payment_failed": "failed",
    "charge.refunded": "refunded",
    "charge.dispute.created": "disputed",
}


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * (Decimal(10) ** exponent(currency))).to_integral_value())


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-exponent(currency))


class StripeGateway:
    name = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str | None, api_base: str | None = None,
                 timeout: float = 20.0, max_network_retries: int = 0) -> None:
        addresses: dict[str, str] = {"api": api_base} if api_base else {}
        self._client = stripe.StripeClient(
            api_key, http_client=stripe.HTTPXClient(timeout=timeout),
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret

    def methods(self) -> frozenset[str]:
        return frozenset({"card", "alipay", "wechat_pay"})

    async def _send(self, call: Any) -> Any:
        try:
            return await call
        except (stripe.CardError, stripe.InvalidRequestError, stripe.PermissionError,
                stripe.AuthenticationError, stripe.IdempotencyError) as error:
            raise GatewayDeclined(error.user_message or str(error)) from None
        except stripe.StripeError as error:  # connection, rate limit, 5xx: outcome unknown
            raise GatewayUnavailable(str(error) or type(error).__name__) from None

    async def authorize(self, *, amount: Decimal, currency: str, method: str, key: str,
                        metadata: Mapping[str, str]) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency), "currency": currency.lower(),
            "payment_method_types": [method], "metadata": dict(metadata),
            "capture_method": "manual" if method in MANUAL_CAPTURE_METHODS else "automatic",
        }
        if method == "card":  # several captures, one per shipment, where the card allows
            params["payment_method_options"] = {"card": {"request_multicapture": "if_available"}}
        if method == "wechat_pay":
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        intent = await self._send(self._client.v1.payment_intents.create_async(
            params, {"idempotency_key": key}))  # type: ignore[arg-type]
        return GatewayResult(reference=intent.id, client_secret=intent.client_secret)

    async def capture(self, *, reference: str, amount: Decimal, currency: str,
                      key: str, final: bool = True) -> GatewayResult:
        params: dict[str, Any] = {"amount_to_capture": to_minor(amount, currency)}
        if not final:
            params["final_capture"] = False
        intent = await self._send(self._client.v1.payment_intents.capture_async(
            reference, params, {"idempotency_key": key}))  # type: ignore[arg-type]
        return GatewayResult(reference=intent.id,
                             amount_captured=from_minor(intent.amount_received, currency))

    async def void(self, *, reference: str, key: str) -> GatewayResult:
        intent = await self._send(self._client.v1.payment_intents.cancel_async(
            reference, {}, {"idempotency_key": key}))
        return GatewayResult(reference=intent.id)

    async def refund(self, *, reference: str, amount: Decimal, currency: str,
                     key: str) -> GatewayResult:
        refund = await self._send(self._client.v1.refunds.create_async(
            {"payment_intent": reference, "amount": to_minor(amount, currency)},
            {"idempotency_key": key}))
        if refund.status == "failed":
            raise GatewayDeclined(f"refund {refund.id} failed")
        return GatewayResult(reference=refund.id)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        if not self._webhook_secret:
            raise InvalidWebhook("OMS_STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(
                body.decode(), headers.get("stripe-signature", ""), self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(str(error)) from None
        kind = EVENT_KINDS.get(event.type, "ignored")
        obj: dict[str, Any] = event.data.object.to_dict()
        currency = str(obj.get("currency", "eur")).upper()
        try:
            if kind == "authorized":
                return GatewayEvent(event.id, kind, obj["id"],
                                    from_minor(obj["amount_capturable"], currency))
            if kind == "captured":
                return GatewayEvent(event.id, kind, obj["id"],
                                    from_minor(obj["amount_received"], currency))
            if kind == "failed":
                last_error = obj.get("last_payment_error") or {}
                return GatewayEvent(event.id, kind, obj["id"], message=last_error.get("message"))
            if kind == "refunded":
                return GatewayEvent(event.id, kind, obj.get("payment_intent"),
                                    from_minor(obj["amount_refunded"], currency))
            if kind == "disputed":
                return GatewayEvent(event.id, kind, obj.get("payment_intent"),
                                    from_minor(obj["amount"], currency), message=obj.get("reason"))
        except KeyError as missing:
            raise InvalidWebhook(f"{event.type} without {missing}") from None
        return GatewayEvent(event.id, "ignored")
