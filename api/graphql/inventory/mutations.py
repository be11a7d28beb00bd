"""Stock mutations: inventorySet, inventoryAdjust, inventoryTransfer."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.inventory.types import StockLevel
from api.graphql.permissions import requires
from domain.inventory import service


@strawberry.input
class InventorySetInput:
    sku: str
    location: str = strawberry.field(description="Location code.")
    on_hand: int
    safety_stock: int | None = None
    low_stock_threshold: int | None = None
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.type
class InventorySetPayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.input
class InventoryAdjustInput:
    sku: str
    location: str
    delta: int
    reason: str
    idempotency_key: str | None = None


@strawberry.type
class InventoryAdjustPayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.input
class InventoryTransferInput:
    sku: str
    from_: str = strawberry.field(name="from", description="Code of the source location.")
    to: str = strawberry.field(description="Code of the destination location.")
    quantity: int
    idempotency_key: str | None = None


@strawberry.type
class InventoryTransferPayload:
    from_: StockLevel | None = strawberry.field(name="from")
    to: StockLevel | None
    user_errors: list[UserError]


def _level(level: object) -> StockLevel | None:
    return StockLevel.from_model(level) if level is not None else None  # type: ignore[arg-type]


@strawberry.type
class InventoryMutations:
    @strawberry.mutation(extensions=requires(Permission.INVENTORY_WRITE),
                         description="Set on hand at a location to a counted figure.")
    async def inventory_set(self, info: Info, input: InventorySetInput) -> InventorySetPayload:
        level, errors = await attempt(service.set_stock(
            target=service.StockTarget(input.sku, input.location), on_hand=input.on_hand,
            safety_stock=input.safety_stock, low_stock_threshold=input.low_stock_threshold,
            reason=input.reason, actor=info.context.actor(),
            idempotency=info.context.idempotency(input.idempotency_key),
        ))
        return InventorySetPayload(stock_level=_level(level), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.INVENTORY_WRITE),
                         description="Add or remove units at a location, with a reason.")
    async def inventory_adjust(
        self, info: Info, input: InventoryAdjustInput
    ) -> InventoryAdjustPayload:
        level, errors = await attempt(service.adjust_stock(
            target=service.StockTarget(input.sku, input.location), delta=input.delta,
            reason=input.reason, actor=info.context.actor(),
            idempotency=info.context.idempotency(input.idempotency_key),
        ))
        return InventoryAdjustPayload(stock_level=_level(level), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.INVENTORY_WRITE),
                         description="Move available units between two locations atomically.")
    async def inventory_transfer(
        self, info: Info, input: InventoryTransferInput
    ) -> InventoryTransferPayload:
        pair, errors = await attempt(service.transfer_stock(
            sku=input.sku, source=input.from_, destination=input.to, quantity=input.quantity,
            actor=info.context.actor(),
            idempotency=info.context.idempotency(input.idempotency_key),
        ))
        return InventoryTransferPayload(
            from_=_level(pair[0]) if pair else None, to=_level(pair[1]) if pair else None,
            user_errors=errors,
        )
