"""Staff hear of what needs a person: low stock, orders not shipped within the promise,
failed payments, webhooks disabled after failures, held orders; by email at the staff's
address (a real SMTP server here) and as events on the webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import PaymentFailed
from domain.events.catalogue import CATALOGUE, EventType
from domain.events.models import OrderEvent
from domain.inventory import service as inventory
from domain.notifications.kinds import STAFF_KINDS
from domain.notifications.models import Notification, Status
from domain.orders.late import flag_late_orders
from domain.payments import service as payments
from domain.payments.ports import GatewayDeclined
from domain.webhooks.models import WebhookDelivery, WebhookSubscription
from domain.webhooks.ports import SendResult
from domain.webhooks.service import RetryPolicy, record
from integrations.payments.manual import ManualGateway
from tests import factories
from tests.api.test_notifications import _gid, _rows
from tests.fakes.smtp import SmtpServer
from tests.notifications_support import SHOP, Mail
from tests.support import GraphQLClient, eventually

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
OPS = SHOP.staff_email or ""
SUBSCRIBE = """mutation($input: WebhookSubscriptionCreateInput!) {
  webhookSubscriptionCreate(input: $input) { subscription { id } userErrors { code } } }"""


class Declining(ManualGateway):
    async def authorize(self, **kwargs: Any) -> Any:
        raise GatewayDeclined("card declined: insufficient funds")


async def _staff_mail(server: SmtpServer, count: int) -> list[Any]:
    async def enough() -> list[Any] | None:
        found = server.to(OPS)
        return found if len(found) >= count else None

    return await eventually(enough)  # type: ignore[no-any-return]


@pytest.fixture
async def hooks(api: GraphQLClient) -> AsyncIterator[None]:
    """A partner subscribed to every alert's webhook events (the deliveries are counted,
    not sent: the URL goes nowhere the test waits on)."""
    done = await api(SUBSCRIBE, {"input": {"url": "https://erp.example/hooks",
                                           "events": ["order", "payment", "inventory",
                                                      "webhook"]}})
    assert done["webhookSubscriptionCreate"]["userErrors"] == []
    yield


async def _delivered(event: str) -> list[WebhookDelivery]:
    async def found() -> list[WebhookDelivery] | None:
        return await WebhookDelivery.filter(event=event) or None

    return await eventually(found)  # type: ignore[no-any-return]


def test_every_alert_is_a_catalogued_webhook_event() -> None:
    topics = {CATALOGUE[e].topic for e in STAFF_KINDS}
    assert topics == {"inventory.low_stock", "order.shipping_late", "payment.failed",
                      "webhook.disabled", "order.on_hold"}


async def test_low_stock_alerts_the_staff_by_email_and_webhook(
    api: GraphQLClient, mail: Mail, hooks: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    await inventory.set_stock(target=inventory.StockTarget("SHOE", "berlin"), on_hand=5,
                              low_stock_threshold=3, actor="test")
    await factories.place({"SHOE": 2})
    [alert] = await _staff_mail(mail.server, 1)
    assert alert.message["Subject"] == "Low stock: SHOE at berlin"
    assert "down to 3 available (alert threshold 3)" in alert.part("plain")
    assert "Harbour Goods" in alert.part("html")
    await _delivered("inventory.low_stock")


async def test_a_held_order_alerts_the_staff_with_its_reason(
    api: GraphQLClient, mail: Mail, hooks: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order: Any = await factories.place({"SHOE": 1})
    gid = await _gid(api, order)
    await api('mutation($id: ID!) { orderHold(id: $id, reason: "Risk: 6 orders from one '
              'email in 10 minutes") { userErrors { code } } }', {"id": gid})
    [alert] = await _staff_mail(mail.server, 1)
    assert alert.message["Subject"] == f"Order {order.number} is on hold for risk"
    assert "Risk: 6 orders from one email in 10 minutes" in alert.part("plain")
    assert "Release or cancel it" in alert.part("plain")
    await _delivered("order.on_hold")
    # The customer hears nothing of the hold.
    assert [m.message["Subject"] for m in mail.server.to("ann@example.com")] == [
        f"We received your order {order.number}"]


async def test_a_failed_payment_alerts_the_staff(
    api: GraphQLClient, mail: Mail, hooks: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order: Any = await factories.place({"SHOE": 1})
    with pytest.raises(PaymentFailed):  # the caller hears it; the staff are told
        await payments.start_payment(order_id=order.id, provider="manual", method="invoice",
                                     gateways={"manual": Declining()}, actor="test")
    [alert] = await _staff_mail(mail.server, 1)
    assert alert.message["Subject"] == f"Payment failed: order {order.number}"
    assert "insufficient funds" in alert.part("plain")
    await _delivered("payment.failed")


async def test_an_order_not_shipped_within_the_promise_alerts_once(
    api: GraphQLClient, mail: Mail, hooks: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    late: Any = await factories.place({"SHOE": 1})
    fresh: Any = await factories.place({"SHOE": 1})
    for order in (late, fresh):
        await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
                  {"id": await _gid(api, order)})
    within = timedelta(hours=48)
    from domain.orders.models import Order

    await Order.filter(id=late.id).update(created_at=datetime.now(UTC) - timedelta(hours=49))
    assert await flag_late_orders(ship_within=within) == 1
    assert await flag_late_orders(ship_within=within) == 0  # noted once
    [alert] = await _staff_mail(mail.server, 1)
    assert alert.message["Subject"] == f"Not shipped in time: order {late.number}"
    assert "within the promised 48 hours" in alert.part("plain")
    [delivery] = await _delivered("order.shipping_late")
    assert delivery.payload["order_id"] == late.id
    assert await OrderEvent.filter(type=EventType.ORDER_SHIPPING_LATE).count() == 1


async def test_a_disabled_webhook_alerts_the_staff_and_the_other_subscribers(
    api: GraphQLClient, mail: Mail, hooks: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    await api(SUBSCRIBE, {"input": {"url": "https://broken.example/hooks",
                                    "events": ["inventory"]}})
    broken = await WebhookSubscription.get(url="https://broken.example/hooks")
    await factories.stock("SHOE", {"berlin": 6})
    delivery = await eventually(lambda: WebhookDelivery.filter(
        subscription_id=broken.id).first())
    await record(delivery, broken, SendResult(status=503, error=None),
                 RetryPolicy(max_age=timedelta(0)))
    [alert] = await _staff_mail(mail.server, 1)
    assert alert.message["Subject"] == "Webhook disabled: https://broken.example/hooks"
    assert "HTTP 503" in alert.part("plain")
    [told] = await _delivered("webhook.disabled")
    assert told.payload["subscription_id"] == broken.id
    assert (await WebhookSubscription.get(id=broken.id)).active is False


async def test_without_a_staff_address_no_alert_is_owed(
    api: GraphQLClient, mail: Mail, app: Any,
) -> None:
    from dataclasses import replace

    mail.notifier.config = replace(SHOP, staff_email=None)
    await factories.shop({"SHOE": {"berlin": 5}})
    order: Any = await factories.place({"SHOE": 1})
    await api('mutation($id: ID!) { orderHold(id: $id, reason: "check") '
              "{ userErrors { code } } }", {"id": await _gid(api, order)})
    await app.state.services.relay.drain()  # every event published, what it owes recorded
    assert await Notification.filter(audience="staff").count() == 0
    [placed] = await _rows(1, status=Status.SENT)
    assert placed.kind == "order_placed"
