"""Order mutations: orderCreate, the lifecycle (confirm, hold, release, cancel) and staff
notes (orderNoteAdd)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import AddressInput
from api.graphql.errors import UserError, attempt, user_errors
from api.graphql.orders.types import Order, OrderEvent
from api.graphql.payments.types import Payment
from api.graphql.permissions import requires
from api.graphql.relay import from_global_id
from domain import application
from domain import validation as v
from domain.access import Kind
from domain.application import PaymentChoice, RiskSignals
from domain.errors import DomainError, NotFound
from domain.events.models import OrderEvent as OrderEventModel
from domain.metrics import count
from domain.orders import notes
from domain.orders.capture import LineRequest, OrderRequest
from domain.orders.models import Order as OrderModel


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int


@strawberry.input
class OrderCreateInput:
    channel: str = strawberry.field(description="Channel code.")
    lines: list[OrderLineInput]
    email: str | None = None
    customer_id: strawberry.ID | None = None
    shipping_address: AddressInput | None = None
    billing_address: AddressInput | None = None
    shipping_method: str | None = None
    pickup_location: str | None = strawberry.field(
        default=None, description="A store's location code, for click and collect."
    )
    po_number: str | None = None
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="Place it for this company (B2B): the customer is its "
                                  "contact; its prices, tax exemption, payment terms and "
                                  "credit limit apply.")
    external_id: str | None = strawberry.field(
        default=None, description="The order's id in the selling channel; unique per channel."
    )
    payment: PaymentInput | None = strawberry.field(
        default=None, description="Open the order's payment at once (e.g. Stripe card).")
    risk_signals: RiskSignalsInput | None = strawberry.field(
        default=None, description="What a server-side integration knows of the buyer, for "
                                  "risk screening (a storefront's or customer's own address "
                                  "is taken from the request).")
    voucher_code: str | None = strawberry.field(
        default=None, description="One voucher code (any case); automatic promotions apply "
                                  "with it. One that cannot be redeemed is VOUCHER_INVALID.")
    idempotency_key: str | None = None


@strawberry.input
class RiskSignalsInput:
    ip_address: str | None = strawberry.field(
        default=None, description="The buyer's IP address (partners and staff only).")
    card_fingerprint: str | None = strawberry.field(
        default=None, description="The payment provider's fingerprint of the buyer's card.")


@strawberry.input
class PaymentInput:
    provider: str = strawberry.field(description="manual or stripe")
    method: str


@strawberry.type
class OrderCreatePayload:
    order: Order | None
    payment: Payment | None = strawberry.field(
        description="The payment opened with the order, when one was asked for.")
    client_secret: str | None = strawberry.field(
        description="For Stripe: what the browser or app confirms the payment with.")
    user_errors: list[UserError]
    placed_pk: strawberry.Private[int | None] = None

    @strawberry.field(description="A bearer token that reads and follows this one order "
                      "(for guests); signed only when asked for.")
    def order_access_token(self, info: Info) -> str | None:
        if self.placed_pk is None:
            return None
        return str(info.context.tokens.order_token(self.placed_pk))


@strawberry.type
class OrderConfirmPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class OrderHoldPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class OrderReleasePayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class OrderCancelPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.input
class OrderNoteAddInput:
    order_id: strawberry.ID
    message: str = strawberry.field(description="At most 5000 characters.")
    idempotency_key: str | None = None


@strawberry.type
class OrderNoteAddPayload:
    order: Order | None
    event: OrderEvent | None = strawberry.field(
        description="The note as it stands in the order's timeline.")
    user_errors: list[UserError]


Payload = TypeVar(
    "Payload", OrderConfirmPayload, OrderHoldPayload, OrderReleasePayload, OrderCancelPayload
)


def _order_pk(gid: str) -> int:
    decoded = from_global_id(gid, expect="Order")
    if decoded is None:
        raise NotFound("Order", gid, field=("id",))
    return decoded[1]


async def _lifecycle(
    info: Info, payload: type[Payload], gid: str, call: Callable[[int], Awaitable[OrderModel]]
) -> Payload:
    async def run() -> OrderModel:
        pk = _order_pk(gid)
        await info.context.scope.require(OrderModel, pk, field="id")
        return await call(pk)

    order, errors = await attempt(run())
    return payload(order=Order.from_model(order) if order else None, user_errors=errors)


def _risk_signals(info: Info, given: RiskSignalsInput | None) -> RiskSignals:
    """A buyer calling from the browser or app is known by the request's address; a
    server placing orders for buyers (a partner, staff) may relay the buyer's."""
    ctx = info.context
    principal = ctx.principal
    relayed = principal is not None and principal.kind in (Kind.ADMIN, Kind.PARTNER)
    ip = given.ip_address if relayed and given is not None else (
        None if relayed else ctx.address)
    card = given.card_fingerprint if given is not None else None
    return RiskSignals(
        ip_address=v.ip_address(ip, field=("riskSignals", "ipAddress"), strict=relayed),
        card_fingerprint=v.text(card, field=("riskSignals", "cardFingerprint"),
                                max_length=128))


@strawberry.type
class OrderMutations:
    @strawberry.mutation(extensions=requires(Permission.ORDER_PLACE),
                         description="Place an order; prices come from the catalogue.")
    async def order_create(self, info: Info, input: OrderCreateInput) -> OrderCreatePayload:
        customer_pk = None
        if input.customer_id is not None:
            decoded = from_global_id(input.customer_id, expect="Customer")
            customer_pk = decoded[1] if decoded else -1
        company_pk = None
        if input.company_id is not None:
            decoded = from_global_id(input.company_id, expect="Company")
            company_pk = decoded[1] if decoded else -1
        principal = info.context.principal
        signed_in = principal is not None and principal.customer_id is not None
        if signed_in:  # a signed-in customer orders for themselves
            customer_pk = principal.customer_id
        request = OrderRequest(
            channel=input.channel,
            lines=[LineRequest(line.sku, line.quantity) for line in input.lines],
            email=input.email, customer_id=customer_pk,
            shipping_address=input.shipping_address.to_dict() if input.shipping_address else None,
            billing_address=input.billing_address.to_dict() if input.billing_address else None,
            shipping_method=input.shipping_method, pickup_location=input.pickup_location,
            po_number=input.po_number, external_id=input.external_id,
            via_account=signed_in, voucher_code=input.voucher_code, company_id=company_pk,
        )
        ctx = info.context
        try:
            ctx.scope.require_channel(input.channel)
        except DomainError as error:
            return OrderCreatePayload(order=None, payment=None, client_secret=None,
                                      user_errors=user_errors(error))
        choice = PaymentChoice(input.payment.provider, input.payment.method) \
            if input.payment else None
        try:
            signals = _risk_signals(info, input.risk_signals)
        except DomainError as error:
            return OrderCreatePayload(order=None, payment=None, client_secret=None,
                                      user_errors=user_errors(error))
        checkout, errors = await attempt(application.place(
            ctx.deps, request=request, payment=choice, actor=ctx.actor(),
            idempotency=ctx.idempotency(input.idempotency_key), scope=ctx.scope,
            signals=signals,
        ))
        if checkout is None:
            for refusal in errors:
                count("orders_refused", code=refusal.code.value)
            return OrderCreatePayload(order=None, payment=None, client_secret=None,
                                      user_errors=errors)
        if checkout.payment_error is not None:
            errors = user_errors(checkout.payment_error)
        payment = checkout.payment
        ctx.scope.grant_order(checkout.order.id)  # placed by this caller: its answer shows it
        if checkout.order.lines._fetched:  # just written: the answer needs no re-read
            ctx.loaders.lines_by_order.prime(checkout.order.id,
                                             list(checkout.order.lines.related_objects))
        return OrderCreatePayload(
            order=Order.from_model(checkout.order),
            payment=Payment.from_model(payment) if payment else None,
            client_secret=payment.client_secret if payment else None,
            placed_pk=checkout.order.id, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE))
    async def order_confirm(self, info: Info, id: strawberry.ID) -> OrderConfirmPayload:
        ctx = info.context
        return await _lifecycle(info, OrderConfirmPayload, id, lambda pk: application.confirm(
            ctx.deps, order_id=pk, actor=ctx.actor(), idempotency=ctx.idempotency(None)))

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE))
    async def order_hold(self, info: Info, id: strawberry.ID, reason: str) -> OrderHoldPayload:
        ctx = info.context
        return await _lifecycle(info, OrderHoldPayload, id, lambda pk: application.hold(
            ctx.deps, order_id=pk, reason=reason, actor=ctx.actor(), idempotency=ctx.idempotency(None)))

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE))
    async def order_release(self, info: Info, id: strawberry.ID) -> OrderReleasePayload:
        ctx = info.context
        return await _lifecycle(info, OrderReleasePayload, id, lambda pk: application.release(
            ctx.deps, order_id=pk, actor=ctx.actor(), idempotency=ctx.idempotency(None)))

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE),
                         description="Cancel an order and release its reserved stock.")
    async def order_cancel(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> OrderCancelPayload:
        ctx = info.context
        return await _lifecycle(info, OrderCancelPayload, id, lambda pk: application.cancel(
            ctx.deps, order_id=pk, reason=reason, actor=ctx.actor(),
            idempotency=ctx.idempotency(None)))

    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE), description=(
        "Add a staff note to the order's timeline (an ORDER_NOTE_ADDED event, signed by its "
        "author). Notes are internal: never shown or sent to the customer."))
    async def order_note_add(self, info: Info, input: OrderNoteAddInput) -> OrderNoteAddPayload:
        ctx = info.context

        async def run() -> tuple[OrderModel, OrderEventModel]:
            decoded = from_global_id(input.order_id, expect="Order")
            if decoded is None:
                raise NotFound("Order", input.order_id, field=("orderId",))
            await ctx.scope.require(OrderModel, decoded[1], field="orderId")
            event = await notes.add_note(
                order_id=decoded[1], message=input.message, actor=ctx.actor(),
                idempotency=ctx.idempotency(input.idempotency_key))
            return await ctx.scope.query(OrderModel).get(id=event.order_id), event

        done, errors = await attempt(run())
        if done is None:
            return OrderNoteAddPayload(order=None, event=None, user_errors=errors)
        return OrderNoteAddPayload(order=Order.from_model(done[0]),
                                   event=OrderEvent.from_model(done[1]), user_errors=[])
