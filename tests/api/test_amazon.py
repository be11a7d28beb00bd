"""Amazon orders pulled since a stored cursor: paged, throttled, each imported once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
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


async def _amazon_channel(fake: FakeAmazon, code: str = "amazon-de",
                          currency: str = "EUR") -> None:
    await factories.channel(code, currency=currency, locations=["a"],
                            kind=factories.ChannelKind.MARKETPLACE)
    await connect(channel=code, provider="amazon", settings={
        "refreshToken": REFRESH, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "marketplaceId": MARKETPLACE, "apiBase": fake.url,
        "lwaUrl": f"{fake.url}/auth/o2/token"})


async def test_amazon_orders_keep_amazons_amounts_and_are_paid(app: object, db: None) -> None:
    """EU: ItemPrice is the line's price for its quantity, VAT included (ItemTax);
    PromotionDiscount and ShippingPrice carry their own tax. The order is paid at Amazon."""
    from domain.invoices.models import Invoice
    from domain.orders.models import OrderLine, PaymentStatus
    from domain.payments.models import Payment

    async with FakeAmazon() as fake:
        await factories.shop({"SHOE": {"a": 10}})  # 10.00 in the catalogue
        await _amazon_channel(fake)
        fake.add("302-0000101", "2099-01-01T10:00:00Z", "SHOE", 2, total="58.97", money={
            "ItemPrice": "59.98", "ItemTax": "9.58", "PromotionDiscount": "5.00",
            "PromotionDiscountTax": "0.80", "ShippingPrice": "3.99", "ShippingTax": "0.64"})
        assert await _poll(fake) == 1
        order = await Order.get(external_id="302-0000101")
        (line,) = await OrderLine.filter(order_id=order.id)
        assert (line.unit_price, line.quantity, line.discount_amount, line.total,
                line.tax_amount, line.tax_rate) == (Decimal("29.99"), 2, Decimal("5.00"),
                                                    Decimal("54.98"), Decimal("8.78"),
                                                    Decimal(19))
        assert (order.total, order.shipping_total, order.shipping_tax, order.tax_total,
                order.shipping_tax_rate, order.prices_include_tax) == (
            Decimal("58.97"), Decimal("3.99"), Decimal("0.64"), Decimal("9.42"), Decimal(19),
            True)
        assert order.payment_status is PaymentStatus.PAID
        payment = await Payment.get(order_id=order.id)
        assert (payment.provider, payment.method, payment.captured_amount) == (
            "marketplace", "amazon", Decimal("58.97"))
        invoice = await Invoice.get(order_id=order.id)
        assert invoice.totals["total"] == "58.97"


async def test_a_us_amazon_order_adds_its_tax(app: object, db: None) -> None:
    async with FakeAmazon() as fake:
        await factories.shop({"CAP": {"a": 10}}, currency="USD")
        await _amazon_channel(fake, "amazon-us", "USD")
        fake.add("111-0000001", "2099-01-01T10:00:00Z", "CAP", 1, total="26.65",
                 currency="USD", money={"ItemPrice": "20.00", "ItemTax": "1.65",
                                        "ShippingPrice": "5.00", "ShippingTax": "0.00"})
        connection = await MarketplaceConnection.get(channel__code="amazon-us")
        client = AmazonOrders(connection.settings, backoff=0.01)
        try:
            assert await poll_orders(channel="amazon-us",
                                     pages=client.pages(connection.settings["cursor"]),
                                     actor="marketplace:amazon") == 1
        finally:
            await client.close()
        order = await Order.get(external_id="111-0000001")
        assert (order.total, order.subtotal, order.tax_total, order.prices_include_tax) == (
            Decimal("26.65"), Decimal("21.65"), Decimal("1.65"), False)


async def test_an_amazon_order_that_does_not_add_up_stops_the_poll_until_it_does(
    app: object, db: None,
) -> None:
    async with FakeAmazon() as fake:
        await factories.shop({"SHOE": {"a": 10}})
        await _amazon_channel(fake)
        fake.add("302-0000201", "2099-01-01T10:00:00Z", "SHOE", 1, total="12.00",
                 money={"ItemPrice": "11.90", "ItemTax": "1.90"})
        with pytest.raises(InvalidInput, match=r"total 12\.00 EUR is not its lines"):
            await _poll(fake)
        assert not await Order.exists(external_id="302-0000201")
        cursor = (await MarketplaceConnection.get(channel__code="amazon-de")).settings["cursor"]
        assert cursor == "2000-01-01T00:00:00Z"  # polled again next time
        fake.orders[0]["OrderTotal"]["Amount"] = "11.90"
        assert await _poll(fake) == 1
        assert (await Order.get(external_id="302-0000201")).total == Decimal("11.90")
