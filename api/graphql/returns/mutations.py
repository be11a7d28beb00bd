"""Return mutations: request, approve, decline, receive, refund, cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.context import Context
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.payments.types import Payment
from api.graphql.permissions import requires
from api.graphql.returns.types import Return
from domain.application import returns
from domain.idempotency.service import remembered
from domain.orders.models import Order as OrderModel
from domain.returns import models


@strawberry.input
class ReturnLineInput:
    order_line_id: strawberry.ID
    quantity: int
    reason: str | None = None


@strawberry.input
class ReplacementLineInput:
    sku: str
    quantity: int


@strawberry.input
class ReturnRequestInput:
    order_id: strawberry.ID
    lines: list[ReturnLineInput]
    replacement_lines: list[ReplacementLineInput] | None = strawberry.field(
        default=None, description="An exchange: what to send instead. Approval places it as "
        "an order, and the refund is reduced by its value.")


@strawberry.input
class ReturnReceiveLineInput:
    order_line_id: strawberry.ID
    quantity: int
    restock: bool = strawberry.field(description="Back to sellable stock; false: written off.")


@strawberry.input
class ReturnReceiveInput:
    return_id: strawberry.ID
    location_id: strawberry.ID
    lines: list[ReturnReceiveLineInput]


@strawberry.input
class ReturnRefundInput:
    return_id: strawberry.ID
    include_shipping: bool = False
    amount: Decimal | None = strawberry.field(
        default=None, description="Defaults to the received lines' paid value.")
    idempotency_key: str | None = None


@strawberry.type
class ReturnRequestPayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]


@strawberry.type
class ReturnApprovePayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]
    payment: Payment | None = strawberry.field(
        default=None, description="For an exchange for something dearer: the payment "
        "asking for the difference, opened on the replacement order.")
    client_secret: str | None = strawberry.field(
        default=None, description="For Stripe: what the buyer confirms the difference with.")


@strawberry.type
class ReturnDeclinePayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]


@strawberry.type
class ReturnReceivePayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]


@strawberry.type
class ReturnRefundPayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]


@strawberry.type
class ReturnCancelPayload:
    return_: Return | None = strawberry.field(name="return")
    user_errors: list[UserError]


P = TypeVar("P", ReturnRequestPayload, ReturnApprovePayload, ReturnDeclinePayload,
            ReturnReceivePayload, ReturnRefundPayload, ReturnCancelPayload)


async def _run(ctx: Context, payload: type[P], call: Callable[[], Awaitable[models.Return]]
               ) -> P:
    async def guarded() -> models.Return:
        return await call()

    found, errors = await attempt(guarded())
    if found is None:
        return payload(return_=None, user_errors=errors)
    order = await ctx.loaders.order_by_id.load(found.order_id)
    assert order is not None  # the caller acted on it: it may read it
    return payload(return_=Return.from_model(found, order.currency), user_errors=errors)


async def _return_pk(ctx: Context, gid: str, field: str = "returnId") -> int:
    pk = pk_of(gid, "Return", field=(field,))
    await ctx.scope.require(models.Return, pk, field=field)
    return pk


@strawberry.type
class ReturnMutations:
    @strawberry.mutation(extensions=requires(Permission.RETURN_REQUEST))
    async def return_request(self, info: Info, input: ReturnRequestInput) -> ReturnRequestPayload:
        ctx = info.context

        async def call() -> models.Return:
            order_pk = pk_of(input.order_id, "Order", field=("orderId",))
            await ctx.scope.require(OrderModel, order_pk, field="orderId")
            return await returns.request_return(
                ctx.deps, order_id=order_pk,
                lines=[returns.ReturnLineRequest(
                    pk_of(ln.order_line_id, "OrderLine", field=("lines", str(i), "orderLineId")),
                    ln.quantity, ln.reason) for i, ln in enumerate(input.lines)],
                replacement=[returns.LineRequest(r.sku, r.quantity)
                             for r in input.replacement_lines or []],
                actor=ctx.actor())

        return await _run(ctx, ReturnRequestPayload, call)

    @strawberry.mutation(extensions=requires(Permission.RETURNS_WRITE))
    async def return_approve(self, info: Info, id: strawberry.ID) -> ReturnApprovePayload:
        approved: list[returns.Approval] = []

        async def call() -> models.Return:
            pk = await _return_pk(info.context, id, "id")
            approved.append(await returns.approve_return(info.context.deps, return_id=pk,
                                                         actor=info.context.actor()))
            return approved[0].rma

        payload = await _run(info.context, ReturnApprovePayload, call)
        opened = approved[0].payment if approved else None
        if opened is not None:
            payload.payment = Payment.from_model(opened)
            payload.client_secret = opened.client_secret
        return payload

    @strawberry.mutation(extensions=requires(Permission.RETURNS_WRITE))
    async def return_decline(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> ReturnDeclinePayload:
        async def call() -> models.Return:
            pk = await _return_pk(info.context, id, "id")
            return await returns.decline_return(info.context.deps, return_id=pk,
                                                reason=reason, actor=info.context.actor())

        return await _run(info.context, ReturnDeclinePayload, call)

    @strawberry.mutation(extensions=requires(Permission.RETURNS_WRITE))
    async def return_cancel(self, info: Info, id: strawberry.ID) -> ReturnCancelPayload:
        async def call() -> models.Return:
            pk = await _return_pk(info.context, id, "id")
            return await returns.cancel_return(info.context.deps, return_id=pk, actor=info.context.actor())

        return await _run(info.context, ReturnCancelPayload, call)

    @strawberry.mutation(extensions=requires(Permission.RETURNS_WRITE),
                         description="Receive returned units; restocked ones are sellable again.")
    async def return_receive(self, info: Info, input: ReturnReceiveInput) -> ReturnReceivePayload:
        async def call() -> models.Return:
            pk = await _return_pk(info.context, input.return_id)
            return await returns.receive_return(
                info.context.deps, return_id=pk,
                location_id=pk_of(input.location_id, "Location", field=("locationId",)),
                lines=[returns.ReceivedLine(
                    pk_of(ln.order_line_id, "OrderLine", field=("lines", str(i), "orderLineId")),
                    ln.quantity, ln.restock) for i, ln in enumerate(input.lines)],
                actor=info.context.actor())

        return await _run(info.context, ReturnReceivePayload, call)

    @strawberry.mutation(extensions=requires(Permission.PAYMENTS_WRITE),
                         description="Refund a received return through the order's gateway.")
    async def return_refund(self, info: Info, input: ReturnRefundInput) -> ReturnRefundPayload:
        ctx = info.context

        async def call() -> models.Return:
            pk = await _return_pk(ctx, input.return_id)
            return await remembered(
                key=ctx.idempotency(input.idempotency_key), operation="returnRefund",
                request=[pk, input.include_shipping, input.amount],
                encode=lambda r: {"return": r.id},
                decode=lambda r: ctx.scope.query(models.Return).get(id=r["return"]),
                run=lambda: returns.refund_return(
                    ctx.deps, return_id=pk, amount=input.amount,
                    include_shipping=input.include_shipping, actor=ctx.actor()))

        return await _run(ctx, ReturnRefundPayload, call)
