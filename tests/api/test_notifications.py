"""Customers hear about their orders by email, from a real SMTP server's point of view: the
messages that arrive, in the customer's language, multipart, with the tracking link; sent
once even when the sender dies mid-send; retried when the server is down; opt-outs; the
preview and the delivery log over GraphQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.customers.models import Customer
from domain.db import Writes, atomic
from domain.events.models import OutboxMessage
from domain.messaging.ports import EmailMessage, EmailSession
from domain.notifications.kinds import PREVIEWABLE
from domain.notifications.models import Notification, Status
from domain.notifications.service import Notifier
from domain.notifications.templates import Renderer
from domain.orders.models import Order
from integrations.email.smtp import SmtpMailer
from integrations.sms.twilio import TwilioSms
from tests import factories
from tests.api.test_partners import _bearer
from tests.fakes.smtp import SmtpServer
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.notifications_support import SHOP, Mail, mailer
from tests.support import GraphQLClient, StatementCounter, codes, eventually

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
ANN = "ann@example.com"

CONFIRM = "mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }"
SHIP_CREATE = """mutation($input: ShipmentCreateInput!) { shipmentCreate(input: $input) {
  shipment { id } userErrors { code message } } }"""
SHIP = """mutation($input: ShipmentShipInput!) { shipmentShip(input: $input) {
  shipment { id trackingUrl } userErrors { code message } } }"""
TRACK = """mutation($input: TrackingEventInput!) { shipmentTrackingEventAdd(input: $input) {
  userErrors { code } } }"""
ORDER = "query($n: String!) { order(number: $n) { id status customer { id } } }"
PREVIEW = """query($id: ID!, $kind: String!) { notificationPreview(orderId: $id, kind: $kind) {
  kind to locale subject text html sms } }"""
LOG = """query($id: ID) { notifications(orderId: $id, first: 50) { edges { node {
  kind audience channel status recipient subject locale attempts lastError orderId } } } }"""
PREFS = """mutation($input: CustomerNotificationPreferencesUpdateInput!) {
  customerNotificationPreferencesUpdate(input: $input) {
    preferences { customerId locale emailOptOut smsOptOut } userErrors { field code } } }"""


@pytest.fixture
async def quiet(mail: Mail) -> AsyncIterator[Mail]:
    """The app's notifier only records what is owed; the test sends, as a restarted process
    would, with notifiers of its own."""
    await mail.notifier.stop()
    yield mail


async def _rows(count: int, **filters: Any) -> list[Notification]:
    async def enough() -> list[Notification] | None:
        rows = await Notification.filter(**filters).order_by("id")
        return rows if len(rows) >= count else None

    return await eventually(enough)  # type: ignore[no-any-return]


async def _gid(api: GraphQLClient, order: Any) -> str:
    return (await api(ORDER, {"n": order.number}))["order"]["id"]  # type: ignore[no-any-return]


async def _shop() -> None:
    await factories.shop({"SHOE": {"berlin": 10}})


async def test_a_placed_order_is_emailed_multipart_with_the_shops_name_and_address(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    order: Any = await factories.place({"SHOE": 2})
    [arrived] = await mail.server.wait_for(1)
    assert arrived.to == [ANN] and arrived.login == "shop"
    assert arrived.mail_from == "orders@harbour.example"
    message = arrived.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == f"We received your order {order.number}"
    assert message["From"] == "orders@harbour.example"
    text, html = arrived.part("plain"), arrived.part("html")
    assert "2 x" in text and "SHOE" in text and "20.00 EUR" in text
    assert "Harbour Goods" in text and "12 Quay Street" in text and "Hamburg" in text
    assert "<table>" in html and "Harbour Goods" in html and "12 Quay Street" in html
    row = (await _rows(1, kind="order_placed", status=Status.SENT))[0]
    assert row.recipient == ANN and row.locale == "en" and row.attempts == 1


async def test_a_customer_reading_chinese_gets_chinese_and_an_unknown_language_english(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    await Customer.create(email="li@example.cn", name="李雷", locale="zh-CN")
    await Customer.create(email="jo@example.de", name="Jo", locale="de-AT")
    zh: Any = await factories.place({"SHOE": 1}, email="li@example.cn")
    de: Any = await factories.place({"SHOE": 1}, email="jo@example.de")
    await mail.server.wait_for(2)
    [chinese] = mail.server.to("li@example.cn")
    assert chinese.message["Subject"] == f"我们已收到您的订单 {zh.number}"
    assert "李雷您好" in chinese.part("plain") and "合计" in chinese.part("html")
    assert 'lang="zh-Hans"' in chinese.part("html")
    [german] = mail.server.to("jo@example.de")  # no German templates: English
    assert german.message["Subject"] == f"We received your order {de.number}"


async def test_shipping_tells_the_carrier_tracking_number_and_link_then_each_step(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    order: Any = await factories.place({"SHOE": 1})
    gid = await _gid(api, order)
    await api(CONFIRM, {"id": gid})
    created = (await api(SHIP_CREATE, {"input": {"orderId": gid, "carrier": "builtin"}}))
    shipment = created["shipmentCreate"]["shipment"]["id"]
    shipped = await api(SHIP, {"input": {"shipmentId": shipment, "trackingNumber": "TRK-42"}})
    assert shipped["shipmentShip"]["shipment"]["trackingUrl"] == "https://track.example/TRK-42"
    for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
        await api(TRACK, {"input": {"shipmentId": shipment, "status": status}})
    await mail.server.wait_for(5)
    subjects = [m.message["Subject"] for m in mail.server.to(ANN)]
    assert subjects == [f"We received your order {order.number}",
                        f"Your order {order.number} is confirmed",
                        f"Your order {order.number} has shipped",
                        f"Your order {order.number} is out for delivery",
                        f"Your order {order.number} was delivered"]
    shipped_mail = mail.server.to(ANN)[2]
    text, html = shipped_mail.part("plain"), shipped_mail.part("html")
    assert "Carrier: builtin" in text and "Tracking number: TRK-42" in text
    assert "Follow your parcel: https://track.example/TRK-42" in text
    assert '<a href="https://track.example/TRK-42">' in html


async def test_a_cancelled_order_says_why(api: GraphQLClient, mail: Mail) -> None:
    await _shop()
    order: Any = await factories.place({"SHOE": 1})
    gid = await _gid(api, order)
    await api('mutation($id: ID!) { orderCancel(id: $id, reason: "Out of season") '
              "{ userErrors { code } } }", {"id": gid})
    await mail.server.wait_for(2)
    cancelled = mail.server.to(ANN)[1]
    assert cancelled.message["Subject"] == f"Your order {order.number} was cancelled"
    assert "Reason: Out of season" in cancelled.part("plain")


async def test_each_message_is_sent_once_when_the_sender_dies_before_handing_it_over(
    api: GraphQLClient, quiet: Mail,
) -> None:
    await _shop()
    order: Any = await factories.place({"SHOE": 1})
    [row] = await _rows(1, kind="order_placed")
    dying = Notifier(SHOP, mailer(quiet.server))
    claimed = await dying.claim()  # leased, then the process dies before sending anything
    assert [r.id for r in claimed] == [row.id]
    assert await Notifier(SHOP, mailer(quiet.server)).run_once() == 0  # still leased
    later = datetime.now(UTC) + dying.lease + timedelta(seconds=1)
    restarted = Notifier(SHOP, mailer(quiet.server))
    assert await restarted.run_once(now=later) == 1
    assert await restarted.run_once(now=later + dying.lease * 2) == 0
    [arrived] = quiet.server.arrived
    assert arrived.message["Subject"] == f"We received your order {order.number}"
    row = await Notification.get(id=row.id)
    assert row.status is Status.SENT and row.attempts == 2


class Crash(BaseException):
    """The process dies: nothing after this line runs (not an error anything handles)."""


class DiesAfterSending:
    """An SMTP transport whose process dies once the server has taken the message."""

    def __init__(self, real: SmtpMailer) -> None:
        self.real = real

    def connect(self) -> Any:
        outer = self

        class _Ctx:
            async def __aenter__(self) -> EmailSession:
                self.inner = outer.real.connect()
                session = await self.inner.__aenter__()

                class Dying:
                    async def send(self, message: EmailMessage) -> None:
                        await session.send(message)
                        raise Crash

                return Dying()

            async def __aexit__(self, *exc: object) -> None:
                await self.inner.__aexit__(None, None, None)

        return _Ctx()

    async def send(self, message: EmailMessage) -> None:
        raise AssertionError("not used")


async def test_a_message_handed_over_when_the_sender_died_is_never_sent_again(
    api: GraphQLClient, quiet: Mail,
) -> None:
    await _shop()
    await factories.place({"SHOE": 1})
    [row] = await _rows(1, kind="order_placed")
    dying = Notifier(SHOP, DiesAfterSending(mailer(quiet.server)))  # type: ignore[arg-type]
    with pytest.raises(Crash):
        await dying.run_once()
    assert len(quiet.server.arrived) == 1
    later = datetime.now(UTC) + dying.lease + timedelta(seconds=1)
    restarted = Notifier(SHOP, mailer(quiet.server))
    assert await restarted.run_once(now=later) == 0
    assert await restarted.run_once(now=later + timedelta(days=2)) == 0
    assert len(quiet.server.arrived) == 1
    row = await Notification.get(id=row.id)
    assert row.status is Status.UNCONFIRMED and "not sent again" in (row.last_error or "")


class HandOvers(logging.Handler):
    """Counts the statements that hand notifications over (they set ``handed_at``; settling
    a stopped worker's rows only reads it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self._logger = logging.getLogger("tortoise.db_client")

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        changes = message.split("WHERE")[0]
        if changes.lstrip().upper().startswith("UPDATE") and "handed_at" in changes:
            self.count += 1

    def __enter__(self) -> HandOvers:
        self._level = self._logger.level
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


async def _owed(count: int) -> list[Notification]:
    """The notification rows of ``count`` orders placed in a new shop."""
    await _shop()
    for _ in range(count):
        await factories.place({"SHOE": 1})
    return await _rows(count, kind="order_placed")


async def test_a_pass_hands_all_its_messages_over_in_one_statement(
    api: GraphQLClient, quiet: Mail,
) -> None:
    rows = await _owed(4)
    with HandOvers() as handed:
        assert await Notifier(SHOP, mailer(quiet.server)).run_once() == 4
    assert handed.count == 1
    assert len(quiet.server.arrived) == 4
    for row in rows:
        row = await Notification.get(id=row.id)
        assert row.status is Status.SENT and row.handed_at is not None
        assert row.recipient == ANN and row.subject and row.locale


class ClaimedMeanwhile:
    """An SMTP transport that connects slowly: while it does, the rows' lease runs out and
    another worker claims them."""

    def __init__(self, real: SmtpMailer, meanwhile: Any) -> None:
        self.real, self.meanwhile = real, meanwhile

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[EmailSession]:
        await self.meanwhile()
        async with self.real.connect() as session:
            yield session


async def test_rows_another_worker_claimed_meanwhile_are_left_to_it(
    api: GraphQLClient, quiet: Mail,
) -> None:
    rows = await _owed(3)
    first = Notifier(SHOP, mailer(quiet.server))
    later = datetime.now(UTC) + first.lease + timedelta(seconds=1)
    other = Notifier(SHOP, mailer(quiet.server))
    taken: list[Notification] = []

    async def claim_meanwhile() -> None:
        taken.extend(await other.claim(now=later))

    slow = Notifier(SHOP, ClaimedMeanwhile(mailer(quiet.server), claim_meanwhile))  # type: ignore[arg-type]
    assert await slow.run_once() == 3  # claimed, then lost them while connecting
    assert sorted(r.id for r in taken) == [r.id for r in rows]
    assert quiet.server.arrived == []  # nothing sent by the worker that lost its lease
    for row in rows:
        row = await Notification.get(id=row.id)
        assert row.status is Status.SENDING and row.handed_at is None  # the other's lease
    # The other worker stops before sending: once its lease ends too, they go out once.
    restarted = Notifier(SHOP, mailer(quiet.server))
    assert await restarted.run_once(now=later + other.lease + timedelta(seconds=1)) == 3
    assert len(quiet.server.arrived) == 3


async def test_smtp_down_is_retried_later_and_the_order_goes_on(
    api: GraphQLClient, quiet: Mail, smtp: SmtpServer,
) -> None:
    await _shop()
    down = SmtpServer()
    await down.start()
    port = down.port
    await down.stop()  # nothing listens there now
    order: Any = await factories.place({"SHOE": 1})
    gid = await _gid(api, order)
    [row] = await _rows(1, kind="order_placed")
    unreachable = Notifier(SHOP, SmtpMailer(f"smtp://127.0.0.1:{port}", sender="x@y.z"))
    assert await unreachable.run_once() == 1
    row = await Notification.get(id=row.id)
    assert row.status is Status.PENDING and row.attempts == 1
    assert "could not reach the SMTP server" in (row.last_error or "")
    assert row.next_attempt_at > datetime.now(UTC) - timedelta(seconds=1)
    # The order is untouched: it is confirmed as usual while its email waits.
    await api(CONFIRM, {"id": gid})
    assert (await Order.get(id=order.id)).status.value == "CONFIRMED"
    # A refusal (451) is tried again too, and the server is back up for the next one.
    smtp.refuse = 1
    back = Notifier(SHOP, mailer(smtp))
    await _rows(2)
    await back.run_once(now=row.next_attempt_at + timedelta(seconds=1))
    await back.run_once(now=datetime.now(UTC) + timedelta(hours=12))
    await back.run_once(now=datetime.now(UTC) + timedelta(hours=24))
    subjects = sorted(m.message["Subject"] for m in smtp.arrived)
    assert subjects == sorted([f"We received your order {order.number}",
                               f"Your order {order.number} is confirmed"])
    placed = await Notification.get(id=row.id)
    assert placed.status is Status.SENT and placed.attempts >= 2


async def test_a_customer_who_opted_out_of_email_gets_none(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    first: Any = await factories.place({"SHOE": 1})
    await mail.server.wait_for(1)
    customer = (await api(ORDER, {"n": first.number}))["order"]["customer"]["id"]
    changed = await api(PREFS, {"input": {"customerId": customer, "emailOptOut": True}})
    assert changed["customerNotificationPreferencesUpdate"] == {
        "preferences": {"customerId": customer, "locale": None, "emailOptOut": True,
                        "smsOptOut": False}, "userErrors": []}
    second: Any = await factories.place({"SHOE": 1})
    [row] = await _rows(1, order_id=second.id, status=Status.SKIPPED)
    assert row.last_error == "the customer opted out of email"
    assert len(mail.server.arrived) == 1
    # Back in, and in Chinese from now on; a language tag that is not one is refused.
    bad = await api(PREFS, {"input": {"customerId": customer, "locale": "not a tag!"}})
    assert codes(bad["customerNotificationPreferencesUpdate"]) == ["INVALID_INPUT"]
    await api(PREFS, {"input": {"customerId": customer, "emailOptOut": False,
                                "locale": "zh-Hans"}})
    third: Any = await factories.place({"SHOE": 1})
    await mail.server.wait_for(2)
    assert mail.server.arrived[1].message["Subject"] == f"我们已收到您的订单 {third.number}"


async def test_a_customer_changes_only_its_own_preferences(api: GraphQLClient) -> None:
    await _shop()
    await factories.place({"SHOE": 1})
    await factories.place({"SHOE": 1}, email="bob@example.com")
    ann = await Customer.get(email=ANN)
    bob = await Customer.get(email="bob@example.com")
    token = api.http._transport.app.state.tokens.customer_token(ann.id)  # type: ignore[attr-defined]
    as_ann = {"Authorization": f"Bearer {token}"}
    from api.graphql.relay import to_global_id

    mine = await api(PREFS, {"input": {"customerId": to_global_id("Customer", ann.id),
                                       "smsOptOut": True}}, headers=as_ann, admin=False)
    assert mine["customerNotificationPreferencesUpdate"]["preferences"]["smsOptOut"] is True
    theirs = await api(PREFS, {"input": {"customerId": to_global_id("Customer", bob.id),
                                         "smsOptOut": True}}, headers=as_ann, admin=False)
    assert codes(theirs["customerNotificationPreferencesUpdate"]) == ["NOT_FOUND"]
    assert (await Customer.get(id=bob.id)).sms_opt_out is False
    errors = await api.errors(PREFS, {"input": {"customerId": to_global_id("Customer", bob.id),
                                                "smsOptOut": True}}, admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_preview_shows_what_would_be_sent(api: GraphQLClient, mail: Mail) -> None:
    await _shop()
    await Customer.create(email="li@example.cn", locale="zh-Hans")
    order: Any = await factories.place({"SHOE": 3}, email="li@example.cn")
    gid = await _gid(api, order)
    preview = (await api(PREVIEW, {"id": gid, "kind": "order_edited"}))["notificationPreview"]
    assert preview["to"] == "li@example.cn" and preview["locale"] == "zh-Hans"
    assert preview["subject"] == f"您的订单 {order.number} 已修改"
    assert "3 x" in preview["text"] and "Harbour Goods" in preview["text"]
    assert preview["html"].startswith("<!DOCTYPE html>") and "<table>" in preview["html"]
    assert preview["sms"].startswith("Harbour Goods: ")
    errors = await api.errors(PREVIEW, {"id": gid, "kind": "birthday"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert "order_shipped" in errors[0]["message"]


async def test_a_merchant_replaces_one_template_and_keeps_the_others(
    api: GraphQLClient, mail: Mail, tmp_path: Path,
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "order_placed.j2").write_text(
        "{% block subject %}Ahoy! Order {{ order.number }} <landed>{% endblock %}"
        "{% block text %}Cheers, {{ customer.name }}{% endblock %}"
        "{% block html %}<p>Cheers, {{ customer.name }}</p>{% endblock %}")
    mail.notifier.renderer = Renderer(tmp_path)
    await _shop()
    order: Any = await factories.place(
        {"SHOE": 1}, shipping_address=factories.address(name="<Ann & Co>"))
    gid = await _gid(api, order)
    placed = (await api(PREVIEW, {"id": gid, "kind": "order_placed"}))["notificationPreview"]
    assert placed["subject"] == f"Ahoy! Order {order.number} <landed>"
    assert placed["text"].startswith("Cheers, <Ann & Co>")  # text is not escaped
    assert "<p>Cheers, &lt;Ann &amp; Co&gt;</p>" in placed["html"]  # HTML is
    confirmed = (await api(PREVIEW, {"id": gid, "kind": "order_confirmed"}))
    assert confirmed["notificationPreview"]["subject"] == f"Your order {order.number} is confirmed"


async def test_the_delivery_log_is_for_the_staff(api: GraphQLClient, mail: Mail) -> None:
    await _shop()
    await factories.channel("b2b", locations=["berlin"])
    order: Any = await factories.place({"SHOE": 1})
    other: Any = await factories.place({"SHOE": 1}, channel="b2b", email="b2b@example.com")
    await _rows(2, status=Status.SENT)
    gid = await _gid(api, order)
    log = (await api(LOG, {"id": gid}))["notifications"]["edges"]
    assert [e["node"] for e in log] == [{
        "kind": "order_placed", "audience": "customer", "channel": "EMAIL", "status": "SENT",
        "recipient": ANN, "subject": f"We received your order {order.number}", "locale": "en",
        "attempts": 1, "lastError": None, "orderId": gid}]
    everything = (await api(LOG))["notifications"]["edges"]
    assert {e["node"]["recipient"] for e in everything} >= {ANN, "b2b@example.com"}
    # A partner limited to the web channel reads that channel's messages only.
    web = await api(LOG, headers=await _bearer(api, ["orders:read"], ["web"]), admin=False)
    assert {e["node"]["orderId"] for e in web["notifications"]["edges"]} == {gid}
    assert other.id != order.id
    # Customers and anonymous callers do not read it.
    errors = await api.errors(LOG, admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    customer = await Customer.get(email=ANN)
    token = api.http._transport.app.state.tokens.customer_token(customer.id)  # type: ignore[attr-defined]
    errors = await api.errors(LOG, headers={"Authorization": f"Bearer {token}"}, admin=False)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"



async def test_every_message_a_customer_can_receive_renders_in_both_languages(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    await Customer.create(email="li@example.cn", locale="zh-Hans")
    orders: Any = [await factories.place({"SHOE": 1}),
                   await factories.place({"SHOE": 1}, email="li@example.cn")]
    for order, locale in zip(orders, ("en", "zh-Hans"), strict=True):
        gid = await _gid(api, order)
        for kind in PREVIEWABLE:
            preview = (await api(PREVIEW, {"id": gid, "kind": kind}))["notificationPreview"]
            assert preview["locale"] == locale, kind
            assert order.number in preview["subject"] and order.number in preview["text"], kind
            assert "Harbour Goods" in preview["html"] and "12 Quay Street" in preview["text"]


async def test_a_refund_tells_its_amount(api: GraphQLClient, mail: Mail) -> None:
    await _shop()
    order: Any = await factories.place({"SHOE": 2})
    await factories.refund(order, "5.00")
    refund = await eventually(lambda: _subject_like("Your refund", mail.server))
    assert "We refunded 5.00 EUR" in refund.part("plain")


async def _subject_like(start: str, server: SmtpServer) -> Any:
    return next((m for m in server.arrived if m.message["Subject"].startswith(start)), None)


async def test_customers_with_a_phone_get_a_text_unless_they_opted_out(
    api: GraphQLClient, mail: Mail,
) -> None:
    async with FakeTwilio() as twilio:
        mail.notifier.sms = TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                      sender="+15005550006", api_base=twilio.url)
        try:
            await _shop()
            await Customer.create(email="quiet@example.com", phone="+4915100000002",
                                  sms_opt_out=True)
            order: Any = await factories.place(
                {"SHOE": 1}, shipping_address=factories.address(phone="+4915100000001"))
            await factories.place({"SHOE": 1}, email="quiet@example.com")
            await _rows(2, channel="sms", status__in=[Status.SENT, Status.SKIPPED])
            assert [(m["to"], m["body"]) for m in twilio.messages] == [
                ("+4915100000001", f"Harbour Goods: We received your order {order.number}")]
            skipped = await Notification.get(channel="sms", recipient=None)
            assert skipped.status is Status.SKIPPED
            assert skipped.last_error == "the customer opted out of sms"
        finally:
            await mail.notifier.sms.close()
            mail.notifier.sms = None


async def test_a_broken_merchant_template_is_named_and_its_messages_wait(
    api: GraphQLClient, mail: Mail, tmp_path: Path,
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "order_confirmed.j2").write_text(
        "{% block subject %}Confirmed {{ order.number {% endblock %}")
    mail.notifier.renderer = Renderer(tmp_path)
    await _shop()
    order: Any = await factories.place({"SHOE": 1})
    gid = await _gid(api, order)
    errors = await api.errors(PREVIEW, {"id": gid, "kind": "order_confirmed"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert "order_confirmed template does not render" in errors[0]["message"]
    await api(CONFIRM, {"id": gid})
    [row] = await _rows(1, kind="order_confirmed", attempts__gte=1, status=Status.PENDING)
    assert "could not render" in (row.last_error or "")
    assert (await Order.get(id=order.id)).status.value == "CONFIRMED"
    await mail.server.wait_for(1)
    assert [m.message["Subject"] for m in mail.server.arrived] == [
        f"We received your order {order.number}"]


async def test_an_event_published_again_owes_its_message_once(
    api: GraphQLClient, quiet: Mail, app: Any,
) -> None:
    await _shop()
    await factories.place({"SHOE": 1})
    await app.state.services.relay.drain()
    placed = [m for m in await OutboxMessage.all() if m.payload.get("type") == "ORDER_PLACED"]
    async with atomic() as conn:  # a relay that publishes the same rows a second time
        for _ in range(2):
            writes = Writes()
            await quiet.notifier.record(conn, placed, writes)
            await writes.send(conn)
    assert [(r.event_id, r.channel.value, r.kind) for r in await Notification.all()] == [
        (placed[0].id, "email", "order_placed")]
    await Notifier(SHOP, mailer(quiet.server)).run_once()
    assert len(quiet.server.arrived) == 1


async def _read_for(count: int, quiet: Mail) -> tuple[int, int]:
    """(messages sent, statements that read the shop's tables) by one pass over ``count``
    placed orders' notifications."""
    before = len(await Notification.filter(kind="order_placed"))
    for _ in range(count):
        await factories.place({"SHOE": 1})
    await _rows(before + count, kind="order_placed")
    with StatementCounter() as counter:  # the notification rows' own are not counted
        sent = await Notifier(SHOP, mailer(quiet.server)).run_once()
    return sent, counter.count


async def test_a_pass_reads_what_its_messages_are_made_of_once_for_all_of_them(
    api: GraphQLClient, quiet: Mail,
) -> None:
    # Orders, their lines, channels and customers: four statements for one message or four.
    await factories.shop({"SHOE": {"berlin": 10}})
    one, read_one = await _read_for(1, quiet)
    four, read_four = await _read_for(4, quiet)
    assert (one, four) == (1, 4)
    assert read_one == read_four == 4
    assert len(quiet.server.arrived) == 5
