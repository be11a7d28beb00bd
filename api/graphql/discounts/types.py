"""GraphQL types of discounts: Promotion, Voucher, and what an order was given."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.common import Money
from api.graphql.relay import Node, to_global_id
from domain.discounts import models
from domain.discounts.models import DiscountKind, DiscountTarget
from domain.discounts.service import group_codes
from domain.money import plain

strawberry.enum(DiscountKind, description="PERCENTAGE: value is percent; FIXED: an amount "
                                          "in the promotion's currency.")
strawberry.enum(DiscountTarget, description="LINES: off each eligible line (a fixed value "
                                            "off each unit); ORDER: off the eligible lines "
                                            "together, spread over them; SHIPPING: off the "
                                            "shipping.")


@strawberry.type(description=(
    "A discount the shop gives, automatically or only with one of its voucher codes "
    "(requiresCode). Stacking: one voucher code per order, automatic promotions with it; "
    "every line gets its best line discount, the order its best order discount, the "
    "shipping its best shipping discount (a tie goes to the voucher)."))
class Promotion(Node):
    id: strawberry.ID
    name: str
    kind: DiscountKind
    target: DiscountTarget
    value: Decimal = strawberry.field(description="Percent (10 is 10%), or the amount.")
    currency: str | None = strawberry.field(
        description="A fixed amount's (and a minimum subtotal's): the promotion applies "
                    "only to orders in it.")
    min_subtotal: Decimal | None = strawberry.field(
        description="The lines' price times quantity, before discounts, at least this.")
    skus: list[str] | None = strawberry.field(description="null: every SKU.")
    channels: list[str] | None = strawberry.field(description="Channel codes; null: all.")
    starts_at: datetime | None
    ends_at: datetime | None = strawberry.field(description="Exclusive.")
    active: bool
    requires_code: bool
    created_at: datetime
    updated_at: datetime | None
    group_ids: strawberry.Private[list[int] | None]

    @classmethod
    def from_model(cls, m: models.Promotion) -> Promotion:
        return cls(id=to_global_id("Promotion", m.id), name=m.name, kind=m.kind,
                   target=m.target, value=plain(m.value), currency=m.currency,
                   min_subtotal=plain(m.min_subtotal) if m.min_subtotal is not None else None,
                   skus=m.skus, channels=m.channels, starts_at=m.starts_at, ends_at=m.ends_at,
                   active=m.active, requires_code=m.requires_code, created_at=m.created_at,
                   updated_at=m.updated_at, group_ids=m.customer_groups)

    @strawberry.field(description="Customer group codes; null: every buyer.")
    async def customer_groups(self, info: Info) -> list[str] | None:
        return await group_codes(None, self.group_ids)


@strawberry.type(description="A code that redeems its promotion.")
class Voucher(Node):
    id: strawberry.ID
    code: str
    max_uses: int | None = strawberry.field(description="1: single-use; null: unlimited.")
    per_customer_limit: int | None
    uses: int = strawberry.field(description="Orders it was redeemed on (a cancelled order "
                                             "does not give its use back).")
    created_at: datetime
    promotion_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Voucher) -> Voucher:
        return cls(id=to_global_id("Voucher", m.id), code=m.code, max_uses=m.max_uses,
                   per_customer_limit=m.per_customer_limit, uses=m.uses,
                   created_at=m.created_at, promotion_pk=m.promotion_id)

    @strawberry.field
    async def promotion(self, info: Info) -> Promotion | None:
        found = await info.context.scope.get(models.Promotion, self.promotion_pk)
        return Promotion.from_model(found) if found else None


@strawberry.type(description="A line's share of a discount.")
class DiscountAllocation:
    position: int = strawberry.field(description="The line's position in the order.")
    sku: str
    amount: Money


@strawberry.type(description="A discount the order was given: off its lines (each line's "
                             "share in allocations, in its discountAmount) or its shipping.")
class OrderDiscount:
    name: str
    code: str | None = strawberry.field(description="The voucher code; null: automatic.")
    target: DiscountTarget
    amount: Money
    allocations: list[DiscountAllocation]
