"""Demo data for the embedded default: a web shop with two warehouses and a store."""

from __future__ import annotations

from decimal import Decimal

from domain.catalog import service as catalog
from domain.catalog.models import BackorderPolicy, Channel, ChannelKind, LocationKind
from domain.inventory import service as inventory

ACTOR = "system:seed"

LOCATIONS = [
    catalog.LocationSpec(
        code="berlin-wh", name="Berlin warehouse", kind=LocationKind.WAREHOUSE, priority=1,
        address={"name": "Berlin warehouse", "line1": "Lagerstraße 1", "city": "Berlin",
                 "postalCode": "10115", "country": "DE"},
        latitude=52.52, longitude=13.405,
    ),
    catalog.LocationSpec(
        code="paris-wh", name="Paris warehouse", kind=LocationKind.WAREHOUSE, priority=2,
        address={"name": "Paris warehouse", "line1": "1 rue du Dépôt", "city": "Paris",
                 "postalCode": "75001", "country": "FR"},
        latitude=48.8566, longitude=2.3522,
    ),
    catalog.LocationSpec(
        code="munich-store", name="Munich store", kind=LocationKind.STORE, priority=3,
        pickup_enabled=True,
        address={"name": "Munich store", "line1": "Marienplatz 1", "city": "München",
                 "postalCode": "80331", "country": "DE"},
        latitude=48.137, longitude=11.575,
    ),
]

PRODUCTS = [
    ("Trail running shoe", "Light shoe with a grippy sole.", [
        ("SHOE-TRAIL-42", "EU 42", "129.90", {"berlin-wh": 20, "paris-wh": 8, "munich-store": 3}),
        ("SHOE-TRAIL-43", "EU 43", "129.90", {"berlin-wh": 12, "paris-wh": 5}),
    ]),
    ("Merino T-shirt", "Soft, odour-resistant wool.", [
        ("TEE-MERINO-M", "M", "59.00", {"berlin-wh": 40, "paris-wh": 25, "munich-store": 6}),
        ("TEE-MERINO-L", "L", "59.00", {"berlin-wh": 2, "paris-wh": 1}),
    ]),
    ("Water bottle", "Insulated, 750 ml.", [
        ("BOTTLE-750", "750 ml", "24.50", {"berlin-wh": 100, "paris-wh": 60}),
    ]),
]


async def seed_demo_if_empty() -> bool:
    """Load the demo data unless the database already holds a channel. True if it loaded."""
    if await Channel.exists():
        return False
    for spec in LOCATIONS:
        await catalog.create_location(spec)
    codes = [spec.code for spec in LOCATIONS]
    await catalog.create_channel(code="web", name="Web shop", kind=ChannelKind.WEB,
                                 currency="EUR", locations=codes)
    await catalog.create_channel(code="app", name="Mobile app", kind=ChannelKind.MOBILE,
                                 currency="EUR", locations=codes[:2])
    for name, description, variants in PRODUCTS:
        await catalog.create_product(name=name, description=description, variants=[
            catalog.VariantSpec(sku=sku, name=label, price=Decimal(price), currency="EUR",
                                backorder_policy=BackorderPolicy.DENY)
            for sku, label, price, _ in variants
        ])
        for sku, _, _, stock in variants:
            for location, units in stock.items():
                await inventory.adjust_stock(
                    target=inventory.StockTarget(sku, location), delta=units,
                    reason="opening stock", actor=ACTOR,
                )
    return True
