"""A realistic order history for a shop, for reports and their benchmark.

Orders spread over the past year across the shop's channels, one to three lines
each, from shoppers who mostly come back: most are known customers, the rest
guests. Most shipped (some in two parcels) and were delivered; a few were
cancelled or are on hold. Each shipped unit has a receipt some weeks before its
shipment in the stock ledger, so stock rows stay equal to their ledger while
the inventory report has a year of sales and receipts to read. Rows are written
in bulk with explicit keys, a batch per transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from domain.catalog.models import Channel, Variant
from domain.customers.models import Customer
from domain.db import connection, execute, is_postgres
from domain.fulfillment.models import Shipment, ShipmentLine, ShipmentStatus
from domain.inventory.models import MovementKind, StockLevel, StockMovement
from domain.orders.models import FulfillmentStatus, Order, OrderLine, OrderStatus, PaymentStatus

BATCH = 500
CARRIERS = ["dhl", "ups", "dpd"]
HOLD_REASONS = ["fraud check", "address check"]
CANCEL_REASONS = ["customer changed mind", "payment failed", "out of stock"]
TABLES = {Customer: "customer", Order: "orders", OrderLine: "order_line", Shipment: "shipment",
          ShipmentLine: "shipment_line", StockMovement: "stock_movement"}
KNOWN_SHARE = 0.6  # of the shoppers: known customers, whose orders their insight reads


async def _next_ids() -> dict[type[Model], int]:
    ids = {}
    for model in TABLES:
        last = await model.all().order_by("-id").first()
        ids[model] = (last.id if last else 0) + 1  # type: ignore[attr-defined]
    return ids


async def seed_history(count: int, *, progress: Callable[[int, int], None] | None = None,
                       seed: int = 7, now: datetime | None = None) -> None:
    """Add ``count`` orders of history over the shop's channels and stocked variants."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    levels: dict[int, list[tuple[int, int]]] = {}
    for level in await StockLevel.all():
        levels.setdefault(level.variant_id, []).append((level.id, level.location_id))
    by_currency: dict[str, list[Variant]] = {}
    for variant in await Variant.filter(id__in=list(levels)):
        by_currency.setdefault(variant.currency, []).append(variant)
    channels = [(c.id, by_currency[c.currency]) for c in await Channel.all()
                if c.currency in by_currency]
    if not channels:
        raise ValueError("no channel sells a stocked variant in its currency: "
                         "load the demo shop first (oms seed --demo on an empty database)")
    ids = await _next_ids()
    rows: dict[type[Model], list[Model]] = {model: [] for model in TABLES}
    shoppers: dict[str, int | None] = {  # email -> customer id, None for a guest
        c.email: c.id for c in await Customer.filter(email__startswith="customer",
                                                      email__endswith="@example.com")}

    def add(model: type[Model], **values: Any) -> int:
        key = ids[model]
        ids[model] += 1
        rows[model].append(model(id=key, **values))
        return key

    done = 0
    while done < count:
        size = min(BATCH, count - done)
        for _ in range(size):
            placed = now - timedelta(seconds=rng.randint(3600, 365 * 86400))
            channel_id, variants = rng.choice(channels)
            picked = rng.sample(variants, rng.randint(1, min(3, len(variants))))
            lines = [(v, rng.randint(1, 3)) for v in picked]
            subtotal = sum((v.price * q for v, q in lines), Decimal(0))
            roll = rng.random()
            status = (OrderStatus.CANCELLED if roll < 0.03 else OrderStatus.ON_HOLD
                      if roll < 0.05 else OrderStatus.CONFIRMED if roll < 0.10
                      else OrderStatus.COMPLETED)
            order_id = ids[Order]
            email = f"customer{rng.randint(1, max(count // 4, 1))}@example.com"
            if email not in shoppers:
                known = rng.random() < KNOWN_SHARE
                shoppers[email] = add(Customer, email=email, name=email.split("@")[0].title(),
                                      created_at=now - timedelta(days=366)) if known else None
            add(Order, number=f"H{order_id}", channel_id=channel_id, email=email,
                customer_id=shoppers[email],
                status=status, currency=variants[0].currency, subtotal=subtotal, total=subtotal,
                payment_status=PaymentStatus.PAID if status is OrderStatus.COMPLETED
                else PaymentStatus.UNPAID,
                fulfillment_status=FulfillmentStatus.FULFILLED
                if status is OrderStatus.COMPLETED else FulfillmentStatus.UNFULFILLED,
                hold_reason=rng.choice(HOLD_REASONS) if status is OrderStatus.ON_HOLD else None,
                cancel_reason=rng.choice(CANCEL_REASONS)
                if status is OrderStatus.CANCELLED else None,
                created_at=placed, updated_at=placed)
            line_ids = [add(OrderLine, order_id=order_id, variant_id=v.id, sku=v.sku, name=v.name,
                            quantity=q, unit_price=v.price, total=v.price * q,
                            quantity_shipped=q if status is OrderStatus.COMPLETED else 0,
                            position=i) for i, (v, q) in enumerate(lines)]
            if status is not OrderStatus.COMPLETED:
                continue
            parcels = [list(zip(line_ids, lines, strict=True))]
            if len(lines) > 1 and rng.random() < 0.1:
                parcels = [parcels[0][:1], parcels[0][1:]]
            for parcel in parcels:
                # history: nothing later than now (an order of the last hours ships and
                # arrives within them)
                shipped = min(placed + timedelta(minutes=rng.randint(30, 96 * 60)), now)
                delivered = min(shipped + timedelta(hours=rng.randint(12, 120)), now)
                level_id, location_id = rng.choice(levels[parcel[0][1][0].id])
                shipment = add(Shipment, order_id=order_id, location_id=location_id,
                               status=ShipmentStatus.DELIVERED, carrier=rng.choice(CARRIERS),
                               shipped_at=shipped, status_at=shipped, delivered_at=delivered,
                               created_at=shipped, updated_at=shipped)
                for line_id, (variant, quantity) in parcel:
                    add(ShipmentLine, shipment_id=shipment, order_line_id=line_id,
                        quantity=quantity)
                    level_id = next((lid for lid, loc in levels[variant.id]
                                     if loc == location_id), levels[variant.id][0][0])
                    received = shipped - timedelta(days=rng.randint(1, 60))
                    add(StockMovement, stock_level_id=level_id, kind=MovementKind.RECEIPT,
                        on_hand_delta=quantity, reason="purchase order", created_at=received)
                    add(StockMovement, stock_level_id=level_id, kind=MovementKind.SHIPMENT,
                        on_hand_delta=-quantity, reference=f"H{order_id}", created_at=shipped)
        async with in_transaction() as conn:
            for model, objects in rows.items():
                if objects:
                    await model.bulk_create(objects, batch_size=BATCH, using_db=conn)
                    objects.clear()
        done += size
        if progress:
            progress(done, count)
    if is_postgres():
        for table in TABLES.values():
            await execute(connection(), f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                        f" (SELECT MAX(id) FROM {table}))")
