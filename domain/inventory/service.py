"""Changing stock by hand: counts, adjustments and transfers, each with its ledger rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.models import Location, Variant
from domain.errors import (
    DomainError,
    InsufficientStock,
    InvalidInput,
    StockBelowReserved,
    UnknownLocation,
    UnknownSku,
    raise_all,
)
from domain.events.service import record_stock_changed
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.models import MovementKind, StockLevel, StockMovement

MAX_UNITS = 1_000_000_000


@dataclass(frozen=True)
class StockTarget:
    sku: str
    location: str


async def _resolve(target: StockTarget, conn: BaseDBAsyncClient, *, location_field: str = "location"
                   ) -> tuple[Variant, Location]:
    variant = await Variant.get_or_none(sku=target.sku, using_db=conn)
    location = await Location.get_or_none(code=target.location, using_db=conn)
    errors: list[DomainError] = []
    if variant is None:
        errors.append(UnknownSku(target.sku, field=("sku",)))
    if location is None:
        errors.append(UnknownLocation(target.location, field=(location_field,)))
    raise_all(errors)
    assert variant is not None and location is not None
    return variant, location


async def locked_stock_level(
    variant: Variant, location: Location, conn: BaseDBAsyncClient
) -> StockLevel:
    """The stock row for a variant at a location, created empty if missing, locked for update."""
    await StockLevel.bulk_create(
        [StockLevel(variant_id=variant.id, location_id=location.id)],
        ignore_conflicts=True, using_db=conn,
    )
    return await (
        StockLevel.filter(variant_id=variant.id, location_id=location.id)
        .select_for_update().using_db(conn).get()
    )


async def move(
    conn: BaseDBAsyncClient,
    level: StockLevel,
    *,
    kind: MovementKind,
    on_hand: int = 0,
    reserved: int = 0,
    reason: str | None = None,
    reference: str | None = None,
    actor: str | None = None,
    field: Sequence[str] | None = None,
) -> None:
    """Apply a change to a locked stock row and write its ledger row (DESIGN rule 2).

    A row never holds more than MAX_UNITS on hand (the column is a 32-bit integer).
    """
    if level.on_hand + on_hand > MAX_UNITS:
        raise InvalidInput(f"A location holds at most {MAX_UNITS:,} units of a SKU", field=field)
    level.on_hand += on_hand
    level.reserved += reserved
    await level.save(update_fields=["on_hand", "reserved", "updated_at"], using_db=conn)
    await StockMovement.create(
        stock_level_id=level.id, kind=kind, on_hand_delta=on_hand, reserved_delta=reserved,
        reason=reason, reference=reference, actor=actor, using_db=conn,
    )


def _encode(level: StockLevel) -> dict[str, int]:
    return {"stock_level": level.id}


async def _decode(result: dict[str, int]) -> StockLevel:
    return await StockLevel.get(id=result["stock_level"])


async def set_stock(
    *,
    target: StockTarget,
    on_hand: int,
    safety_stock: int | None = None,
    low_stock_threshold: int | None = None,
    reason: str | None = None,
    actor: str,
    idempotency: IdempotencyKey | None = None,
) -> StockLevel:
    """Set on hand to a counted figure. It may not fall below what orders have reserved."""
    v.quantity(on_hand, field=("onHand",), allow_zero=True)
    if safety_stock is not None:
        v.quantity(safety_stock, field=("safetyStock",), allow_zero=True)
    if low_stock_threshold is not None:
        v.quantity(low_stock_threshold, field=("lowStockThreshold",), allow_zero=True)
    reason = v.text(reason, field=("reason",), max_length=500)

    async def run(conn: BaseDBAsyncClient) -> StockLevel:
        variant, location = await _resolve(target, conn)
        level = await locked_stock_level(variant, location, conn)
        if on_hand < level.reserved:
            raise StockBelowReserved(variant.sku, location.code, on_hand, level.reserved,
                                     field=("onHand",))
        if safety_stock is not None or low_stock_threshold is not None:
            if safety_stock is not None:
                level.safety_stock = safety_stock
            if low_stock_threshold is not None:
                level.low_stock_threshold = low_stock_threshold
            await level.save(update_fields=["safety_stock", "low_stock_threshold"], using_db=conn)
        delta = on_hand - level.on_hand
        if delta:
            await move(conn, level, kind=MovementKind.COUNT, on_hand=delta,
                       reason=reason or "stock count", actor=actor)
        await record_stock_changed(conn, [variant.sku])
        return level

    return await idempotent(
        key=idempotency, operation="inventorySet",
        request=[target.sku, target.location, on_hand, safety_stock, low_stock_threshold, reason],
        run=run, encode=_encode, decode=_decode,
    )


async def adjust_stock(
    *,
    target: StockTarget,
    delta: int,
    reason: str,
    actor: str,
    idempotency: IdempotencyKey | None = None,
) -> StockLevel:
    """Add (receipt) or remove (shrinkage) units. On hand may not fall below reserved."""
    reason_text = v.required_text(reason, field=("reason",), max_length=500)
    if delta == 0:
        raise InvalidInput("An adjustment must change the quantity", field=("delta",))
    if abs(delta) > MAX_UNITS:
        raise InvalidInput("Adjustment is too large", field=("delta",))

    async def run(conn: BaseDBAsyncClient) -> StockLevel:
        variant, location = await _resolve(target, conn)
        level = await locked_stock_level(variant, location, conn)
        if level.on_hand + delta < level.reserved:
            raise StockBelowReserved(variant.sku, location.code, level.on_hand + delta,
                                     level.reserved, field=("delta",))
        kind = MovementKind.RECEIPT if delta > 0 else MovementKind.ADJUSTMENT
        await move(conn, level, kind=kind, on_hand=delta, reason=reason_text, actor=actor,
                   field=("delta",))
        await record_stock_changed(conn, [variant.sku])
        return level

    return await idempotent(
        key=idempotency, operation="inventoryAdjust",
        request=[target.sku, target.location, delta, reason_text],
        run=run, encode=_encode, decode=_decode,
    )


async def transfer_stock(
    *,
    sku: str,
    source: str,
    destination: str,
    quantity: int,
    actor: str,
    idempotency: IdempotencyKey | None = None,
) -> tuple[StockLevel, StockLevel]:
    """Move available units between locations atomically; both rows change or neither."""
    v.quantity(quantity, field=("quantity",))
    if source == destination:
        raise InvalidInput("Source and destination must differ", field=("to",))

    async def run(conn: BaseDBAsyncClient) -> tuple[StockLevel, StockLevel]:
        variant, src_location = await _resolve(StockTarget(sku, source), conn,
                                               location_field="from")
        dst_location = await Location.get_or_none(code=destination, using_db=conn)
        if dst_location is None:
            raise UnknownLocation(destination, field=("to",))
        # Lock both rows in primary-key order so concurrent transfers cannot deadlock.
        pair = sorted([src_location, dst_location], key=lambda loc: loc.id)
        levels = {loc.id: await locked_stock_level(variant, loc, conn) for loc in pair}
        src, dst = levels[src_location.id], levels[dst_location.id]
        if src.available < quantity:
            raise InsufficientStock(sku, quantity, max(src.available, 0), field=("quantity",))
        reference = f"transfer:{source}->{destination}"
        await move(conn, src, kind=MovementKind.TRANSFER_OUT, on_hand=-quantity,
                   reference=reference, actor=actor)
        await move(conn, dst, kind=MovementKind.TRANSFER_IN, on_hand=quantity,
                   reference=reference, actor=actor, field=("quantity",))
        await record_stock_changed(conn, [sku])
        return src, dst

    async def decode(result: dict[str, int]) -> tuple[StockLevel, StockLevel]:
        return (await StockLevel.get(id=result["from"]), await StockLevel.get(id=result["to"]))

    return await idempotent(
        key=idempotency, operation="inventoryTransfer",
        request=[sku, source, destination, quantity], run=run,
        encode=lambda pair: {"from": pair[0].id, "to": pair[1].id}, decode=decode,
    )
