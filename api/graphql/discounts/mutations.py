"""Discount mutations: promotionCreate/Update/Delete and voucherCreate (permission
discounts:manage). In promotionUpdate a field left out changes nothing; ``null`` clears a
restriction (every SKU, channel or buyer then), the minimum subtotal or a date."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import given, run
from api.graphql.discounts.types import Promotion, Voucher
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import requires
from api.graphql.relay import to_global_id
from domain.discounts import service
from domain.discounts.models import DiscountKind, DiscountTarget

T = TypeVar("T")




def _promotion(found: Any) -> Promotion | None:
    return Promotion.from_model(found) if found is not None else None


@strawberry.input
class PromotionCreateInput:
    name: str
    kind: DiscountKind
    target: DiscountTarget
    value: Decimal = strawberry.field(description="Percent (above 0, at most 100), or an "
                                                  "amount above 0 in currency.")
    currency: str | None = strawberry.field(
        default=None, description="Required for a fixed amount and a minimum subtotal.")
    min_subtotal: Decimal | None = None
    skus: list[str] | None = strawberry.field(default=None, description="null: every SKU.")
    channels: list[str] | None = strawberry.field(default=None,
                                                  description="Channel codes; null: all.")
    customer_groups: list[str] | None = strawberry.field(
        default=None, description="Customer group codes; null: every buyer.")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True
    requires_code: bool = strawberry.field(
        default=False, description="Redeemed only with one of its voucher codes.")


@strawberry.type
class PromotionCreatePayload:
    promotion: Promotion | None
    user_errors: list[UserError]


@strawberry.input
class PromotionUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    value: Decimal | None = strawberry.UNSET
    min_subtotal: Decimal | None = strawberry.UNSET
    skus: list[str] | None = strawberry.UNSET
    channels: list[str] | None = strawberry.UNSET
    customer_groups: list[str] | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class PromotionUpdatePayload:
    promotion: Promotion | None
    user_errors: list[UserError]


@strawberry.type
class PromotionDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input
class VoucherCreateInput:
    promotion_id: strawberry.ID
    codes: list[str] = strawberry.field(
        description="3 to 64 of A-Z, 0-9, '-' and '_' each, in any case (kept upper case).")
    max_uses: int | None = strawberry.field(
        default=None, description="1: single-use; null: unlimited.")
    per_customer_limit: int | None = None


@strawberry.type
class VoucherCreatePayload:
    vouchers: list[Voucher]
    user_errors: list[UserError]


@strawberry.type
class DiscountMutations:
    @strawberry.mutation(extensions=requires(Permission.DISCOUNTS_MANAGE),
                         description="A promotion: automatic, or redeemed with voucher codes.")
    async def promotion_create(self, info: Info,
                               input: PromotionCreateInput) -> PromotionCreatePayload:
        found, errors = await attempt(service.create_promotion(spec=service.PromotionSpec(
            name=input.name, kind=input.kind, target=input.target, value=input.value,
            currency=input.currency, min_subtotal=input.min_subtotal, skus=input.skus,
            channels=input.channels, customer_groups=input.customer_groups,
            starts_at=input.starts_at, ends_at=input.ends_at, active=input.active,
            requires_code=input.requires_code)))
        return PromotionCreatePayload(promotion=_promotion(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DISCOUNTS_MANAGE),
                         description="Change a promotion. Orders placed keep their discounts.")
    async def promotion_update(self, info: Info,
                               input: PromotionUpdateInput) -> PromotionUpdatePayload:
        found, errors = await attempt(run(lambda: service.update_promotion(
            promotion_id=pk_of(input.id, "Promotion", field=("id",)),
            changes=service.PromotionChanges(
                name=given(input.name), value=given(input.value),
                min_subtotal=given(input.min_subtotal), skus=given(input.skus),
                channels=given(input.channels), customer_groups=given(input.customer_groups),
                starts_at=given(input.starts_at), ends_at=given(input.ends_at),
                active=given(input.active)))))
        return PromotionUpdatePayload(promotion=_promotion(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DISCOUNTS_MANAGE),
                         description="Delete a promotion and its codes; orders keep the "
                                     "discounts they were given.")
    async def promotion_delete(self, info: Info, id: strawberry.ID) -> PromotionDeletePayload:
        found, errors = await attempt(run(lambda: service.delete_promotion(
            promotion_id=pk_of(id, "Promotion", field=("id",)))))
        return PromotionDeletePayload(
            deleted_id=to_global_id("Promotion", found.id) if found else None,
            user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.DISCOUNTS_MANAGE),
                         description="Voucher codes for a promotion that needs one.")
    async def voucher_create(self, info: Info,
                             input: VoucherCreateInput) -> VoucherCreatePayload:
        found, errors = await attempt(run(lambda: service.create_vouchers(
            promotion_id=pk_of(input.promotion_id, "Promotion", field=("promotionId",)),
            codes=input.codes, max_uses=input.max_uses,
            per_customer_limit=input.per_customer_limit)))
        return VoucherCreatePayload(vouchers=[Voucher.from_model(v) for v in found or []],
                                    user_errors=errors)
