"""Marketplace stock follows ours: coalesced pushes, a buffer, and drift detected."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.marketplaces.models import MarketplaceListing
from domain.marketplaces.service import connect
from domain.marketplaces.sync import push_dirty
from integrations.marketplaces.shopify import ShopifyInventory
from tests import factories
from tests.fakes.shopify import ACCESS_TOKEN, LOCATION, FakeShopify
from tests.support import eventually


async def _dirty(app: Any) -> None:
    """Wait until the relay has published the commits and marked the SKU for a push."""

    async def marked() -> bool:
        await app.state.services.relay.drain()
        return await MarketplaceListing.filter(dirty=True).exists()

    await eventually(marked)


async def test_a_burst_of_orders_is_one_push_and_a_change_there_is_not_overwritten(
    app: Any, db: None,
) -> None:
    sync = app.state.services.marketplace_sync
    await sync.stop()  # this test pushes by hand, so it can count
    pusher = ShopifyInventory()
    try:
        async with FakeShopify(["SHOE"]) as shopify:
            await factories.shop({"SHOE": {"a": 30}})
            await factories.channel("shopify-eu", locations=["a"],
                                    kind=factories.ChannelKind.MARKETPLACE)
            await connect(channel="shopify-eu", provider="shopify", settings={
                "webhookSecret": "s", "shop": "demo.myshopify.com", "accessToken": ACCESS_TOKEN,
                "locationId": LOCATION, "apiBase": shopify.url, "buffer": 2})
            await asyncio.gather(*(factories.place({"SHOE": 1}, email=f"b{i}@example.com")
                                   for i in range(20)))
            await _dirty(app)
            pushers = {"shopify": pusher}
            assert await push_dirty(pushers) == 1
            item = shopify.items["SHOE"]
            assert shopify.available[item] == 30 - 20 - 2
            assert shopify.calls["set"] == 1

            shopify.available[item] = 50  # a merchant edits the quantity in Shopify
            await factories.place({"SHOE": 1}, email="late@example.com")
            await _dirty(app)
            assert await push_dirty(pushers) == 0
            assert shopify.available[item] == 50  # detected, not overwritten
            listing = await MarketplaceListing.get(sku="SHOE")
            assert listing.last_pushed == 8  # what we believe it holds, until reconciled
    finally:
        await pusher.close()
        sync.start()


async def test_reconcile_sets_what_drifted_and_reports_it(app: Any, db: None) -> None:
    from domain.marketplaces.sync import reconcile

    pusher = ShopifyInventory()
    try:
        async with FakeShopify(["SHOE", "TEE"]) as shopify:
            await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 4}, "CAP": {"a": 1}})
            await factories.channel("shopify-eu", locations=["a"],
                                    kind=factories.ChannelKind.MARKETPLACE)
            await connect(channel="shopify-eu", provider="shopify", settings={
                "webhookSecret": "s", "accessToken": ACCESS_TOKEN, "locationId": LOCATION,
                "apiBase": shopify.url, "buffer": 1})
            shopify.available[shopify.items["SHOE"]] = 9  # in step (10 - buffer 1)
            shopify.available[shopify.items["TEE"]] = 40  # drifted
            steps: list[tuple[int, int]] = []
            fixed = await reconcile(channel="shopify-eu", pushers={"shopify": pusher},
                                    progress=lambda done, total: steps.append((done, total)))
            assert [(d.sku, d.theirs, d.ours) for d in fixed] == [("TEE", 40, 3)]
            assert shopify.available[shopify.items["TEE"]] == 3
            assert steps[-1] == (3, 3)  # CAP is not sold there, but was looked at
    finally:
        await pusher.close()


async def test_marking_skus_dirty_adds_the_missing_listings_and_marks_the_others(
    app: Any, db: None,
) -> None:
    from domain.marketplaces.sync import mark_dirty

    sync = app.state.services.marketplace_sync
    await sync.stop()  # nothing pushes (and clears) the marks meanwhile
    try:
        await factories.shop({"SHOE": {"a": 3}, "TEE": {"a": 3}})
        assert await mark_dirty(["SHOE"]) == 0  # no marketplace is connected
        for code in ("shopify-eu", "shopify-us"):
            await factories.channel(code, locations=["a"], kind=factories.ChannelKind.MARKETPLACE)
            await connect(channel=code, provider="shopify", settings={
                "webhookSecret": "s", "shop": f"{code}.myshopify.com", "accessToken": "t",
                "locationId": LOCATION, "apiBase": "http://127.0.0.1:9"})
        assert await mark_dirty(["SHOE"]) == 2
        await MarketplaceListing.filter(sku="SHOE").update(dirty=False)
        assert await mark_dirty(["SHOE", "TEE", "SHOE"]) == 4  # two marked, two added
        listings = await MarketplaceListing.all().order_by("sku", "channel_id")
        assert [(row.sku, row.dirty) for row in listings] == [
            ("SHOE", True), ("SHOE", True), ("TEE", True), ("TEE", True)]
    finally:
        sync.start()
