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

from domain.money import CURRENCY_EXPONENTS, exponent
from domain.payments.ports import (
    GatewayDeclined,
    GatewayEvent,
    GatewayResult,
    GatewayUnavailable,
    InvalidWebhook,
)
from integrations.payloads import (
    UnreadablePayload,
    integer,
    json_object,
    mapping,
    optional_mapping,
    optional_text,
    text,
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
        """Verified as the SDK does (timestamp and HMAC of the raw body); the event is then
        read from the signed body, every field checked for its documented type."""
        if not self._webhook_secret:
            raise InvalidWebhook("OMS_STRIPE_WEBHOOK_SECRET is not set")
        try:
            stripe.WebhookSignature.verify_header(
                body.decode(), headers.get("stripe-signature", ""), self._webhook_secret,
                stripe.Webhook.DEFAULT_TOLERANCE)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(str(error)) from None
        event = json_object(body, "the Stripe event")
        event_id = text(event.get("id"), "id", max_length=128)
        event_type = text(event.get("type"), "type", max_length=128)
        kind = EVENT_KINDS.get(event_type, "ignored")
        if kind == "ignored":
            return GatewayEvent(event_id, "ignored")
        obj = mapping(mapping(event.get("data"), "data").get("object"), "data.object")
        currency = text(obj.get("currency", "eur"), "currency", max_length=3).upper()
        if currency not in CURRENCY_EXPONENTS:
            raise UnreadablePayload(f"unknown currency {currency!r}")

        def minor(name: str) -> Decimal:
            return from_minor(integer(obj.get(name), name), currency)

        def reference(name: str) -> str | None:
            return optional_text(obj.get(name), name, max_length=255)

        intent = text(obj.get("id"), "data.object.id", max_length=255)
        if kind == "authorized":
            return GatewayEvent(event_id, kind, intent, minor("amount_capturable"))
        if kind == "captured":
            return GatewayEvent(event_id, kind, intent, minor("amount_received"))
        if kind == "failed":
            last_error = optional_mapping(obj.get("last_payment_error"), "last_payment_error")
            return GatewayEvent(event_id, kind, intent, message=optional_text(
                last_error.get("message"), "message", max_length=1000))
        if kind == "refunded":
            return GatewayEvent(event_id, kind, reference("payment_intent"),
                                minor("amount_refunded"))
        return GatewayEvent(event_id, kind, reference("payment_intent"), minor("amount"),
                            message=optional_text(obj.get("reason"), "reason"))
