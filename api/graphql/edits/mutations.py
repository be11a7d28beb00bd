"""Order edit mutations: begin a session, stage changes, commit them at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.edits.types import CalculatedOrder
from api.graphql.errors import UserError, attempt, user_errors
from api.graphql.node import register
from api.graphql.orders.types import Order
from api.graphql.payments.types import Payment
from api.graphql.permissions import requires
from api.graphql.relay import from_global_id
from domain import application
from domain.application.edits import Calculation
from domain.edits.models import OrderEdit
from domain.errors import NotFound
from domain.orders.models import Order as OrderModel
from domain.payments.models import Payment as PaymentModel


@strawberry.type
class OrderEditPayload:
    calculated_order: CalculatedOrder | None
    user_errors: list[UserError]


@strawberry.type
class OrderEditCommitPayload:
    order: Order | None
    calculated_order: CalculatedOrder | None
    payment: Payment | None = strawberry.field(
        description="The payment asked for the difference, when the edit added to the total.")
    client_secret: str | None = strawberry.field(
        description="For Stripe: what the customer confirms the difference's payment with.")
    user_errors: list[UserError]


@strawberry.type
class OrderLinesCancelPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.input
class OrderLineCancelInput:
    line_id: strawberry.ID
    quantity: int = strawberry.field(description="Units to cancel, not shipped nor being "
                                                 "shipped.")


@strawberry.input
class OrderLinesCancelInput:
    order_id: strawberry.ID
    lines: list[OrderLineCancelInput]
    reason: str | None = None
    notify_customer: bool = False
    idempotency_key: str | None = None


@strawberry.input
class OrderEditAddLineInput:
    edit_id: strawberry.ID
    sku: str
    quantity: int


@strawberry.input
class OrderEditSetQuantityInput:
    edit_id: strawberry.ID
    line_id: strawberry.ID = strawberry.field(
        description="An order line, or a line this edit adds (a calculated line's id).")
    quantity: int


@strawberry.input
class OrderEditRemoveLineInput:
    edit_id: strawberry.ID
    line_id: strawberry.ID


@strawberry.input
class OrderEditSetShippingMethodInput:
    edit_id: strawberry.ID
    shipping_method: str | None


async def _edit_pk(info: Info, gid: str, field: str = "editId") -> int:
    decoded = from_global_id(gid, expect="OrderEdit")
    if decoded is None:
        raise NotFound("OrderEdit", gid, field=(field,))
    await info.context.scope.require(OrderEdit, decoded[1], field=field)
    return decoded[1]


def _line(gid: str) -> tuple[int | None, int | None]:
    """(order line, staged line) named by a calculated line's id."""
    decoded = from_global_id(gid)
    if decoded is not None and decoded[0] == "OrderLine":
        return decoded[1], None
    if decoded is not None and decoded[0] == "OrderEditLine":
        return None, decoded[1]
    raise NotFound("Order line", gid, field=("lineId",))


async def _staged(call: Callable[[], Awaitable[Calculation]]) -> OrderEditPayload:
    calc, errors = await attempt(call())
    return OrderEditPayload(
        calculated_order=CalculatedOrder.from_calculation(calc) if calc else None,
        user_errors=errors)


async def _set_quantity(info: Info, edit_id: str, line_id: str, quantity: int
                        ) -> OrderEditPayload:
    async def run() -> Calculation:
        line, staged = _line(line_id)
        return await application.set_edit_quantity(
            info.context.deps, edit_id=await _edit_pk(info, edit_id), order_line_id=line,
            staged_id=staged, quantity=quantity)

    return await _staged(run)


@strawberry.type
class OrderEditMutations:
    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Begin editing an order that is pending or confirmed; "
                                     "the calculated order is the order as it is now.")
    async def order_edit_begin(self, info: Info, order_id: strawberry.ID) -> OrderEditPayload:
        ctx = info.context

        async def run() -> Calculation:
            decoded = from_global_id(order_id, expect="Order")
            if decoded is None:
                raise NotFound("Order", order_id, field=("orderId",))
            await ctx.scope.require(OrderModel, decoded[1], field="orderId")
            return await application.begin_edit(ctx.deps, order_id=decoded[1],
                                                actor=ctx.actor())

        return await _staged(run)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Stage a new line at the catalogue's price.")
    async def order_edit_add_line(self, info: Info, input: OrderEditAddLineInput
                                  ) -> OrderEditPayload:
        ctx = info.context

        async def run() -> Calculation:
            return await application.add_edit_line(
                ctx.deps, edit_id=await _edit_pk(info, input.edit_id), sku=input.sku,
                quantity=input.quantity)

        return await _staged(run)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Stage a line's new quantity (not below its fulfilled "
                                     "units; 0 removes it).")
    async def order_edit_set_quantity(self, info: Info, input: OrderEditSetQuantityInput
                                      ) -> OrderEditPayload:
        return await _set_quantity(info, input.edit_id, input.line_id, input.quantity)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Stage a line's removal (only if nothing of it is "
                                     "fulfilled).")
    async def order_edit_remove_line(self, info: Info, input: OrderEditRemoveLineInput
                                     ) -> OrderEditPayload:
        return await _set_quantity(info, input.edit_id, input.line_id, 0)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Stage another shipping method, priced by the carriers.")
    async def order_edit_set_shipping_method(
        self, info: Info, input: OrderEditSetShippingMethodInput,
    ) -> OrderEditPayload:
        ctx = info.context

        async def run() -> Calculation:
            return await application.set_edit_shipping_method(
                ctx.deps, edit_id=await _edit_pk(info, input.edit_id),
                shipping_method=input.shipping_method)

        return await _staged(run)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Apply the edit in one transaction: added units reserved "
                                     "(INSUFFICIENT_STOCK otherwise), removed ones released; "
                                     "EDIT_CONFLICT if the order changed since it began. "
                                     "Then the balance is asked for or refunded.")
    async def order_edit_commit(
        self, info: Info, id: strawberry.ID, notify_customer: bool = False,
        staff_note: str | None = None, idempotency_key: str | None = None,
    ) -> OrderEditCommitPayload:
        ctx = info.context

        async def run() -> application.edits.Committed:
            return await application.commit_edit(
                ctx.deps, edit_id=await _edit_pk(info, id, "id"),
                notify_customer=notify_customer, staff_note=staff_note, actor=ctx.actor(),
                idempotency=ctx.idempotency(idempotency_key))

        done, errors = await attempt(run())
        if done is None:
            return OrderEditCommitPayload(order=None, calculated_order=None, payment=None,
                                          client_secret=None, user_errors=errors)
        if done.payment_error is not None:
            errors = user_errors(done.payment_error)
        calc = await application.calculated_edit(ctx.deps, edit_id=done.edit.id)
        payment = await ctx.scope.get(PaymentModel, done.edit.payment_id) \
            if done.edit.payment_id else None
        order = await ctx.scope.get(OrderModel, done.edit.order_id)
        return OrderEditCommitPayload(
            order=Order.from_model(order) if order else None,
            calculated_order=CalculatedOrder.from_calculation(calc),
            payment=Payment.from_model(payment) if payment else None,
            client_secret=payment.client_secret if payment else None, user_errors=errors)


    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Cancel unshipped units of some lines of a pending or "
                                     "confirmed order (part of it may have shipped): their "
                                     "stock released, what was paid for them refunded, the "
                                     "fulfilment status recomputed. One transaction.")
    async def order_lines_cancel(self, info: Info, input: OrderLinesCancelInput
                                 ) -> OrderLinesCancelPayload:
        ctx = info.context

        async def run() -> application.edits.Committed:
            decoded = from_global_id(input.order_id, expect="Order")
            if decoded is None:
                raise NotFound("Order", input.order_id, field=("orderId",))
            await ctx.scope.require(OrderModel, decoded[1], field="orderId")
            lines = []
            for i, line in enumerate(input.lines):
                named = from_global_id(line.line_id, expect="OrderLine")
                if named is None:
                    raise NotFound("Order line", line.line_id,
                                   field=("lines", str(i), "lineId"))
                lines.append((named[1], line.quantity))
            return await application.cancel_lines(
                ctx.deps, order_id=decoded[1], lines=lines, reason=input.reason,
                notify_customer=input.notify_customer, actor=ctx.actor(),
                idempotency=ctx.idempotency(input.idempotency_key))

        done, errors = await attempt(run())
        if done is None:
            return OrderLinesCancelPayload(order=None, user_errors=errors)
        if done.payment_error is not None:
            errors = user_errors(done.payment_error)
        order = await ctx.scope.get(OrderModel, done.edit.order_id)
        return OrderLinesCancelPayload(order=Order.from_model(order) if order else None,
                                       user_errors=errors)


@register("OrderEdit", Permission.ORDERS_READ)
async def _edit_node(info: Info, pk: int) -> CalculatedOrder | None:
    if await info.context.scope.get(OrderEdit, pk) is None:
        return None
    return CalculatedOrder.from_calculation(
        await application.calculated_edit(info.context.deps, edit_id=pk))
