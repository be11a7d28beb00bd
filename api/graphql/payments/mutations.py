"""Payment mutations: paymentCreate, paymentCapture, paymentRefund."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.payments.types import Payment
from api.graphql.permissions import requires
from domain.idempotency.service import remembered
from domain.orders.models import Order as OrderModel
from domain.payments import models, service
from domain.payments.allocation import LineRefund, RefundTarget


@strawberry.input
class PaymentCreateInput:
    order_id: strawberry.ID
    provider: str = strawberry.field(description="manual or stripe")
    method: str = strawberry.field(
        description="card, alipay, wechat_pay (stripe); cash_on_delivery, bank_transfer, "
        "invoice (manual)")


@strawberry.type
class PaymentCreatePayload:
    payment: Payment | None
    client_secret: str | None = strawberry.field(
        description="For Stripe: confirm the payment with it in the browser or app.")
    user_errors: list[UserError]


@strawberry.input
class PaymentCaptureInput:
    payment_id: strawberry.ID
    amount: Decimal | None = strawberry.field(
        default=None, description="Defaults to what remains authorised (or owed).")
    idempotency_key: str | None = None


@strawberry.type
class PaymentCapturePayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.input
class RefundLineInput:
    order_line_id: strawberry.ID
    amount: Decimal = strawberry.field(
        description="Refunded of this line; no more than was paid for it less earlier refunds.")


@strawberry.input
class PaymentRefundInput:
    payment_id: strawberry.ID
    amount: Decimal
    idempotency_key: str | None = None
    lines: list[RefundLineInput] | None = strawberry.field(
        default=None, description="What the refund pays back, line by line (with shipping, "
        "adding up to amount). Without lines or shipping the refund is charged to the "
        "order's lines and shipping in proportion to what remains refundable of each.")
    shipping: Decimal | None = strawberry.field(
        default=None, description="Refunded of the shipping; no more than remains of it.")


@strawberry.type
class PaymentRefundPayload:
    payment: Payment | None
    user_errors: list[UserError]


def _encode(payment: models.Payment) -> dict[str, int]:
    return {"payment": payment.id}


async def _decode(ctx: Any, result: dict[str, int]) -> models.Payment:
    return await ctx.scope.query(models.Payment).get(id=result["payment"])


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(extensions=requires(Permission.PAYMENTS_WRITE),
                         description="Open a payment for an order (again, after one failed).")
    async def payment_create(self, info: Info, input: PaymentCreateInput) -> PaymentCreatePayload:
        ctx = info.context

        async def run() -> models.Payment:
            order_pk = pk_of(input.order_id, "Order", field=("orderId",))
            await ctx.scope.require(OrderModel, order_pk, field="orderId")
            return await service.start_payment(
                order_id=order_pk,
                provider=input.provider, method=input.method,
                gateways=ctx.services.gateways, actor=ctx.actor())

        payment, errors = await attempt(run())
        return PaymentCreatePayload(
            payment=Payment.from_model(payment) if payment else None,
            client_secret=payment.client_secret if payment else None, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.PAYMENTS_WRITE),
                         description="Capture an authorised payment, or record money received.")
    async def payment_capture(
        self, info: Info, input: PaymentCaptureInput
    ) -> PaymentCapturePayload:
        payment, errors = await attempt(_money_move(
            info, "paymentCapture", input.payment_id, input.amount, input.idempotency_key,
            lambda pk, gateways, actor: service.capture_payment(
                payment_id=pk, amount=input.amount, gateways=gateways, actor=actor)))
        return PaymentCapturePayload(payment=Payment.from_model(payment) if payment else None,
                                     user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.PAYMENTS_WRITE),
                         description="Refund captured money; never more than remains.")
    async def payment_refund(self, info: Info, input: PaymentRefundInput) -> PaymentRefundPayload:
        def target() -> RefundTarget | None:
            if input.lines is None and input.shipping is None:
                return None
            return RefundTarget(lines=[
                LineRefund(pk_of(ln.order_line_id, "OrderLine",
                                 field=("lines", str(i), "orderLineId")), ln.amount)
                for i, ln in enumerate(input.lines or [])], shipping=input.shipping)

        # Only a refund that says what it refunds has more to remember than its amount, so
        # keys stored before `lines` and `shipping` existed still replay.
        said = None if input.lines is None and input.shipping is None else [
            [[ln.order_line_id, str(ln.amount)] for ln in input.lines or []],
            str(input.shipping) if input.shipping is not None else None]
        payment, errors = await attempt(_money_move(
            info, "paymentRefund", input.payment_id, input.amount, input.idempotency_key,
            lambda pk, gateways, actor: service.refund_payment(
                payment_id=pk, amount=input.amount, gateways=gateways, actor=actor,
                target=target()),
            said=said))
        return PaymentRefundPayload(payment=Payment.from_model(payment) if payment else None,
                                    user_errors=errors)


async def _money_move(
    info: Info, operation: str, payment_id: str, amount: Decimal | None, key: str | None,
    call: Callable[[int, Any, str], Awaitable[models.Payment]], said: Any = None,
) -> models.Payment:
    """A capture or refund: the caller's payment, once per idempotency key."""
    ctx = info.context
    pk = pk_of(payment_id, "Payment", field=("paymentId",))
    await ctx.scope.require(models.Payment, pk, field="paymentId")
    return await remembered(
        key=ctx.idempotency(key), operation=operation,
        request=[pk, amount] if said is None else [pk, amount, said], encode=_encode,
        decode=lambda result: _decode(ctx, result), run=lambda: call(pk, ctx.services.gateways, ctx.actor()))
