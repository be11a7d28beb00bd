"""Amazon orders pulled since a stored cursor: paged, throttled, each imported once."""

from __future__ import annotations

from domain.marketplaces.models import MarketplaceConnection
from domain.marketplaces.service import connect, poll_orders
from domain.orders.models import Order
from integrations.marketplaces.amazon import AmazonOrders
from tests import factories
from tests.fakes.amazon import CLIENT_ID, CLIENT_SECRET, MARKETPLACE, REFRESH, FakeAmazon


async def _poll(fake: FakeAmazon) -> int:
    connection = await MarketplaceConnection.get(channel__code="amazon-de")
    client = AmazonOrders(connection.settings, backoff=0.01)
    try:
        return await poll_orders(channel="amazon-de",
                                 pages=client.pages(connection.settings["cursor"]),
                                 actor="marketplace:amazon")
    finally:
        await client.close()


async def test_polling_imports_each_order_once_and_survives_a_restart(
    app: object, db: None,
) -> None:
    async with FakeAmazon() as fake:
        await factories.shop({"SHOE": {"a": 10}})
        await factories.channel("amazon-de", locations=["a"],
                                kind=factories.ChannelKind.MARKETPLACE)
        await connect(channel="amazon-de", provider="amazon", settings={
            "refreshToken": REFRESH, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
            "marketplaceId": MARKETPLACE, "apiBase": fake.url,
            "lwaUrl": f"{fake.url}/auth/o2/token"})
        fake.add("302-0000001", "2099-01-01T10:00:00Z", "SHOE", 1)
        fake.add("302-0000002", "2099-01-01T11:00:00Z", "SHOE", 2)
        fake.add("302-0000003", "2099-01-01T12:00:00Z", "SHOE", 1, status="Canceled")
        fake.throttle_next = 2  # the first calls hit the rate limit
        assert await _poll(fake) == 2
        assert fake.calls["throttled"] == 2 and fake.calls["token"] == 1
        cursor = (await MarketplaceConnection.get(channel__code="amazon-de")).settings["cursor"]
        assert cursor == "2099-01-01T12:00:00Z"

        # A new poller (a restart) resumes at the stored cursor: nothing twice.
        fake.add("302-0000004", "2099-01-02T09:00:00Z", "SHOE", 3)
        assert await _poll(fake) == 1
        numbers = sorted(await Order.all().values_list("external_id", flat=True))
        assert numbers == ["302-0000001", "302-0000002", "302-0000004"]
        # Even a poll from the beginning (an overlapping window) creates no duplicate.
        connection = await MarketplaceConnection.get(channel__code="amazon-de")
        connection.settings = {**connection.settings, "cursor": "2000-01-01T00:00:00Z"}
        await connection.save()
        await _poll(fake)
        assert await Order.all().count() == 3


async def test_shipments_and_stock_are_reported_to_amazon(app: object, db: None) -> None:
    from domain.fulfillment import service as fulfillment
    from domain.marketplaces.sync import mark_dirty, push_dirty, push_fulfillments
    from domain.orders import lifecycle
    from integrations.marketplaces.amazon import AmazonSeller

    async with FakeAmazon() as fake:
        await factories.shop({"SHOE": {"a": 10}})
        await factories.channel("amazon-de", locations=["a"],
                                kind=factories.ChannelKind.MARKETPLACE)
        await connect(channel="amazon-de", provider="amazon", settings={
            "refreshToken": REFRESH, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
            "marketplaceId": MARKETPLACE, "sellerId": "A2SELLER", "apiBase": fake.url,
            "lwaUrl": f"{fake.url}/auth/o2/token", "buffer": 1})
        fake.add("302-0000009", "2099-01-01T10:00:00Z", "SHOE", 2)
        assert await _poll(fake) == 1
        order = await Order.get(external_id="302-0000009")
        await lifecycle.confirm_order(order_id=order.id, actor="test")
        carriers = app.state.services.carriers  # type: ignore[attr-defined]
        shipment = await fulfillment.create_shipment(order_id=order.id, carriers=carriers,
                                                     actor="test")
        await fulfillment.ship_shipment(shipment_id=shipment.id, tracking_number="DHL123",
                                        carrier="builtin", carriers=carriers, actor="test")
        from domain.events.models import OutboxMessage
        from domain.marketplaces.sync import mark_fulfillments

        await mark_fulfillments(await OutboxMessage.all())
        seller = AmazonSeller()
        try:
            assert await push_fulfillments({"amazon": seller}) == 1
            (confirmation,) = fake.confirmations
            assert confirmation["order"] == "302-0000009"
            assert confirmation["packageDetail"]["trackingNumber"] == "DHL123"
            assert confirmation["packageDetail"]["orderItems"] == [
                {"orderItemId": "item-302-0000009", "quantity": 2}]
            await mark_dirty(["SHOE"])
            assert await push_dirty({"amazon": seller}) == 1
            assert fake.listings["SHOE"] == 10 - 2 - 1
        finally:
            await seller.close()
