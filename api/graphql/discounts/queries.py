"""Discount queries: promotions, vouchers(promotionId); node() for both."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.discounts.types import Promotion, Voucher
from api.graphql.ids import pk_of
from api.graphql.node import register
from api.graphql.permissions import requires
from api.graphql.relay import Connection, id_page, window
from domain.discounts import models
from domain.errors import NotFound


@strawberry.type
class DiscountQueries:
    @strawberry.field(extensions=requires(Permission.DISCOUNTS_MANAGE),
                      description="Promotions, newest first.")
    async def promotions(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, active: bool | None = None,
    ) -> Connection[Promotion]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.Promotion)
        if active is not None:
            query = query.filter(active=active)
        return await id_page(query, asked, newest_first=True, node=Promotion.from_model)

    @strawberry.field(extensions=requires(Permission.DISCOUNTS_MANAGE),
                      description="A promotion's voucher codes, oldest first.")
    async def vouchers(
        self, info: Info, promotion_id: strawberry.ID, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Voucher]:
        asked = window(int, first=first, after=after, last=last, before=before)
        try:
            pk = pk_of(promotion_id, "Promotion", field=("promotionId",))
        except NotFound:  # an ID of something else names no promotion: no codes
            pk = -1
        query = info.context.scope.query(models.Voucher).filter(promotion_id=pk)
        return await id_page(query, asked, newest_first=False, node=Voucher.from_model)


@register("Promotion", Permission.DISCOUNTS_MANAGE)
async def _promotion_node(info: Info, pk: int) -> Promotion | None:
    found = await info.context.scope.get(models.Promotion, pk)
    return Promotion.from_model(found) if found else None


@register("Voucher", Permission.DISCOUNTS_MANAGE)
async def _voucher_node(info: Info, pk: int) -> Voucher | None:
    found = await info.context.scope.get(models.Voucher, pk)
    return Voucher.from_model(found) if found else None
