"""Draft order queries: draftOrder, draftOrders (newest first); node() for drafts."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.drafts.types import DraftOrder, DraftStatus
from api.graphql.node import register
from api.graphql.permissions import requires
from api.graphql.relay import Connection, from_global_id, id_page, window
from domain.drafts import models


@strawberry.type
class DraftOrderQueries:
    @strawberry.field(extensions=requires(Permission.DRAFT_ORDERS),
                      description="One draft order by global ID.")
    async def draft_order(self, info: Info, id: strawberry.ID) -> DraftOrder | None:
        decoded = from_global_id(id, expect="DraftOrder")
        found = await info.context.scope.get(models.DraftOrder, decoded[1]) if decoded else None
        return DraftOrder.from_model(found) if found else None

    @strawberry.field(extensions=requires(Permission.DRAFT_ORDERS),
                      description="Draft orders, newest first.")
    async def draft_orders(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        status: DraftStatus | None = None,
    ) -> Connection[DraftOrder]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.DraftOrder)
        if status is not None:
            query = query.filter(status=status)
        return await id_page(query, asked, newest_first=True, node=DraftOrder.from_model)


@register("DraftOrder", Permission.DRAFT_ORDERS)
async def _draft_node(info: Info, pk: int) -> DraftOrder | None:
    found = await info.context.scope.get(models.DraftOrder, pk)
    return DraftOrder.from_model(found) if found else None
