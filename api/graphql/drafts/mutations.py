"""Draft order mutations: create, update, delete, and complete (which places the order)."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import AddressInput
from api.graphql.drafts.types import DraftOrder, DraftSource
from api.graphql.errors import UserError, attempt, graphql_error
from api.graphql.orders.types import Order
from api.graphql.permissions import requires
from api.graphql.relay import from_global_id
from domain import application
from domain.drafts import service
from domain.drafts.models import DraftOrder as DraftModel
from domain.drafts.service import DraftLine, DraftSpec
from domain.errors import NotFound, NotPermitted
from domain.orders.models import Order as OrderModel


@strawberry.input
class DraftOrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal | None = strawberry.field(default=None, description=(
        "A price set by hand instead of the catalogue's: needs orders:price_override "
        "and a priceReason."))
    price_reason: str | None = None


@strawberry.input
class DraftOrderCreateInput:
    channel: str = strawberry.field(description="Channel code.")
    source: DraftSource = DraftSource.PHONE
    lines: list[DraftOrderLineInput] = strawberry.field(default_factory=list)
    email: str | None = None
    customer_id: strawberry.ID | None = None
    shipping_address: AddressInput | None = None
    billing_address: AddressInput | None = None
    shipping_method: str | None = None
    pickup_location: str | None = None
    po_number: str | None = None
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="Order it for this company (B2B): its prices and terms.")
    note: str | None = strawberry.field(default=None, description="For staff only.")
    voucher_code: str | None = strawberry.field(
        default=None, description="Redeemed when the draft is completed.")


@strawberry.input(description="Fields left out stay as they are; lines, when given, "
                              "replace every line.")
class DraftOrderUpdateInput:
    channel: str | None = None
    source: DraftSource | None = None
    lines: list[DraftOrderLineInput] | None = None
    email: str | None = None
    customer_id: strawberry.ID | None = None
    shipping_address: AddressInput | None = None
    billing_address: AddressInput | None = None
    shipping_method: str | None = None
    pickup_location: str | None = None
    po_number: str | None = None
    company_id: strawberry.ID | None = None
    note: str | None = None
    voucher_code: str | None = strawberry.field(
        default=None, description="Redeemed when the draft is completed; \"\" removes it.")


@strawberry.type
class DraftOrderCreatePayload:
    draft_order: DraftOrder | None
    user_errors: list[UserError]


@strawberry.type
class DraftOrderUpdatePayload:
    draft_order: DraftOrder | None
    user_errors: list[UserError]


@strawberry.type
class DraftOrderDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class DraftOrderCompletePayload:
    draft_order: DraftOrder | None
    order: Order | None
    user_errors: list[UserError]


def _spec(input: DraftOrderCreateInput | DraftOrderUpdateInput) -> DraftSpec:
    customer = None
    if input.customer_id is not None:
        decoded = from_global_id(input.customer_id, expect="Customer")
        customer = decoded[1] if decoded else -1
    company = None
    if input.company_id is not None:
        found = from_global_id(input.company_id, expect="Company")
        company = found[1] if found else -1
    return DraftSpec(
        channel=input.channel, source=input.source, email=input.email, customer_id=customer,
        lines=None if input.lines is None else [
            DraftLine(ln.sku, ln.quantity, ln.unit_price, ln.price_reason) for ln in input.lines],
        shipping_address=input.shipping_address.to_dict() if input.shipping_address else None,
        billing_address=input.billing_address.to_dict() if input.billing_address else None,
        shipping_method=input.shipping_method, pickup_location=input.pickup_location,
        po_number=input.po_number, note=input.note, voucher_code=input.voucher_code,
        company_id=company)


async def _draft_pk(info: Info, gid: str) -> int:
    decoded = from_global_id(gid, expect="DraftOrder")
    if decoded is None:
        raise NotFound("DraftOrder", gid, field=("id",))
    await info.context.scope.require(DraftModel, decoded[1], field="id")
    return decoded[1]


def _forbidden(error: NotPermitted) -> Exception:
    return graphql_error(error.message, "FORBIDDEN")


@strawberry.type
class DraftOrderMutations:
    @strawberry.mutation(extensions=requires(Permission.DRAFT_ORDERS),
                         description="Take down a phone, email, sales-rep or B2B order; "
                                     "nothing is reserved until it is completed.")
    async def draft_order_create(self, info: Info, input: DraftOrderCreateInput
                                 ) -> DraftOrderCreatePayload:
        ctx = info.context
        try:
            draft, errors = await attempt(service.create_draft(
                spec=_spec(input), scope=ctx.scope, actor=ctx.actor()))
        except NotPermitted as error:
            raise _forbidden(error) from error
        return DraftOrderCreatePayload(
            draft_order=DraftOrder.from_model(draft) if draft else None, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DRAFT_ORDERS))
    async def draft_order_update(self, info: Info, id: strawberry.ID,
                                 input: DraftOrderUpdateInput) -> DraftOrderUpdatePayload:
        ctx = info.context

        async def run() -> DraftModel:
            return await service.update_draft(draft_id=await _draft_pk(info, id),
                                              spec=_spec(input), scope=ctx.scope,
                                              actor=ctx.actor())

        try:
            draft, errors = await attempt(run())
        except NotPermitted as error:
            raise _forbidden(error) from error
        return DraftOrderUpdatePayload(
            draft_order=DraftOrder.from_model(draft) if draft else None, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DRAFT_ORDERS),
                         description="Delete an open draft (a completed one stays).")
    async def draft_order_delete(self, info: Info, id: strawberry.ID) -> DraftOrderDeletePayload:
        async def run() -> strawberry.ID:
            await service.delete_draft(draft_id=await _draft_pk(info, id))
            return id

        deleted, errors = await attempt(run())
        return DraftOrderDeletePayload(deleted_id=deleted, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DRAFT_ORDERS),
                         description="Place the draft's order, like orderCreate: refused "
                                     "(e.g. INSUFFICIENT_STOCK), the draft stays as it was.")
    async def draft_order_complete(self, info: Info, id: strawberry.ID,
                                   idempotency_key: str | None = None
                                   ) -> DraftOrderCompletePayload:
        ctx = info.context

        async def run() -> tuple[DraftModel | None, OrderModel]:
            pk = await _draft_pk(info, id)
            order = await application.complete_draft(
                ctx.deps, draft_id=pk, actor=ctx.actor(),
                idempotency=ctx.idempotency(idempotency_key), scope=ctx.scope)
            return await ctx.scope.get(DraftModel, pk), order

        done, errors = await attempt(run())
        if done is None:
            found = None
            decoded = from_global_id(id, expect="DraftOrder")
            if decoded is not None:
                found = await ctx.scope.get(DraftModel, decoded[1])
            return DraftOrderCompletePayload(
                draft_order=DraftOrder.from_model(found) if found else None, order=None,
                user_errors=errors)
        draft, order = done
        ctx.scope.grant_order(order.id)
        return DraftOrderCompletePayload(
            draft_order=DraftOrder.from_model(draft) if draft else None,
            order=Order.from_model(order), user_errors=[])
