"""The catalogue cache the order path reads: what it keeps, and what makes it forget."""

from __future__ import annotations

import ast
import asyncio
from decimal import Decimal
from pathlib import Path

from tortoise import connections

from domain.catalog.cache import CatalogueCache, follow
from domain.catalog.models import Channel, ChannelLocation, Variant
from domain.events.catalogue import CatalogChangedPayload
from domain.events.ports import RESYNC, catalog_topic
from integrations.bus.memory import InMemoryBus
from tests import factories
from tests.support import eventually


def _changed(skus: list[str] | None, routing: bool = False) -> dict[str, object]:
    return CatalogChangedPayload(type="VARIANT_UPDATED", ref="x", skus=skus, routing=routing,
                                 actor=None, created_at="").to_json()


async def _price(cache: CatalogueCache, sku: str) -> Decimal:
    found = await cache.variants(connections.get("default"), [sku])
    return found[sku].variant.price


async def test_entries_stay_until_a_change_names_them(db: None) -> None:
    await factories.shop({"A": {"east": 1}, "B": {"east": 1}})
    cache = CatalogueCache(ttl=60)
    assert await _price(cache, "A") == Decimal("10")
    await _price(cache, "B")
    await Variant.filter(sku__in=["A", "B"]).update(price=Decimal("11"))  # behind its back
    assert await _price(cache, "A") == Decimal("10")  # remembered
    cache.apply(_changed(["A"]))
    assert (await _price(cache, "A"), await _price(cache, "B")) == (Decimal("11"), Decimal("10"))
    cache.apply(_changed(None))  # any SKU
    assert await _price(cache, "B") == Decimal("11")


async def test_a_read_racing_a_change_is_not_kept(db: None) -> None:
    await factories.shop({"A": {"east": 1}})
    cache = CatalogueCache(ttl=60)
    conn = connections.get("default")
    reading = asyncio.ensure_future(cache.variants(conn, ["A"]))
    await asyncio.sleep(0)  # the read is out at the database
    cache.forget(skus=["A"])  # heard while the read was out
    await reading
    await Variant.filter(sku="A").update(price=Decimal("12"))
    assert await _price(cache, "A") == Decimal("12")


async def test_channels_are_forgotten_when_routing_changes(db: None) -> None:
    await factories.shop({"A": {"east": 1}})
    west = await factories.location("west")
    cache = CatalogueCache(ttl=60)
    conn = connections.get("default")

    async def served() -> list[str]:
        route = await cache.channel(conn, "web")
        assert route is not None
        return [loc.code for loc in route.locations]

    assert await served() == ["east"]
    channel = await Channel.get(code="web")
    await ChannelLocation.create(channel=channel, location=west, position=1)  # behind its back
    cache.apply(_changed(["A"]))  # a variant's change leaves routing alone
    assert await served() == ["east"]
    cache.apply(_changed([], routing=True))
    assert await served() == ["east", "west"]
    assert await cache.channel(conn, "nowhere") is None


async def test_without_a_ttl_nothing_is_kept(db: None) -> None:
    await factories.shop({"A": {"east": 1}})
    cache = CatalogueCache(ttl=0)
    await _price(cache, "A")
    await Variant.filter(sku="A").update(price=Decimal("13"))
    assert await _price(cache, "A") == Decimal("13")


async def test_it_follows_changes_and_resyncs_from_the_bus(db: None) -> None:
    await factories.shop({"A": {"east": 1}})
    bus = InMemoryBus()
    cache = CatalogueCache(ttl=60)
    ready = asyncio.Event()
    task = asyncio.create_task(follow(bus, cache, ready=ready))
    try:
        async with asyncio.timeout(5):
            await ready.wait()
        for message, price in ((_changed(["A"]), "14"), (RESYNC, "15")):
            await _price(cache, "A")
            await Variant.filter(sku="A").update(price=Decimal(price))
            await bus.publish(catalog_topic(), message)

            async def seen(price: str = price) -> bool:
                return await _price(cache, "A") == Decimal(price)

            await eventually(seen, seconds=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_TABLES = {"Channel", "Location", "ChannelLocation", "Product", "Variant"}
WRITES = {"create", "bulk_create", "update", "delete", "update_or_create", "get_or_create"}


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Call, ast.Attribute)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def test_every_write_to_the_catalogue_goes_through_changing_catalogue() -> None:
    """What orders read is cached in every process: a write that records no catalogue
    event would leave the caches holding the old values."""
    writers, bare = 0, []
    for path in (p for d in ("domain", "api", "integrations") for p in (ROOT / d).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)]
            wrapped = any(getattr(c.func, "id", None) == "changing_catalogue" for c in calls)
            for call in calls:
                if (isinstance(call.func, ast.Attribute) and call.func.attr in WRITES
                        and _root(call.func) in CATALOGUE_TABLES):
                    writers += 1
                    if not wrapped:
                        bare.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert writers > 8  # the scan sees the writers
    assert bare == [], f"write these in `async with changing_catalogue(actor)`: {bare}"
