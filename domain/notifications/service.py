"""Customer notifications and staff alerts: owed with the publish, sent once, never in a
request.

- ``Notifier.record`` runs in the relay's transaction that marks events published (a
  handler of the event registry): it writes one ``notification`` row per event, channel
  and kind. The unique (event, channel, kind) makes an event published twice owe one.
- ``Notifier.run_once`` (a background loop, woken after each publish) leases due rows,
  opens the way to the server (nothing is sent yet), marks each row ``handed_at`` in its
  own commit, hands the message over, and records the outcome. A refusal or an
  unreachable server is tried again with backoff (``RetryPolicy``: exponential with jitter,
  for a day); an outcome it cannot know (the connection dropped while handing over) is
  ``UNCONFIRMED`` and never sent again.
- A worker that dies leaves rows leased: once the lease runs out, a row never handed over
  is sent by the next worker, and one handed over is ``UNCONFIRMED``.

Orders never wait for any of it: rendering, SMTP and SMS happen after commit, in the
background, and a failure only ever changes the notification row.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain.access.scope import Scope
from domain.background import Periodic
from domain.catalog.models import Channel as SalesChannel
from domain.catalog.models import ChannelKind, Location
from domain.customers.models import Customer
from domain.db import Writes, connection, fetch, is_postgres
from domain.errors import InvalidInput, NotFound
from domain.events.catalogue import EventType, event_type_of
from domain.events.models import OutboxMessage
from domain.fulfillment.models import Shipment
from domain.messaging.ports import EmailMessage, EmailTransport, SmsMessage, SmsSender, Undelivered
from domain.money import format_amount
from domain.notifications.kinds import (
    CUSTOMER,
    CUSTOMER_KINDS,
    PREVIEWABLE,
    SHIPMENT_KINDS,
    STAFF,
    STAFF_KINDS,
)
from domain.notifications.models import Channel, Notification, Status
from domain.notifications.templates import Rendered, Renderer, TemplateProblem
from domain.orders.models import Order, OrderLine
from domain.webhooks.service import RetryPolicy

log = logging.getLogger(__name__)
# One pass's rows handed over in one statement: each with what it is sent to, if still this
# worker's (its status and lease unchanged). VALUES' columns are column1.. on both databases.
_HAND_OVER = """UPDATE notification SET handed_at = ?, recipient = v.column2,
    subject = v.column3, locale = v.column4 FROM (VALUES {}) AS v
    WHERE notification.id = v.column1 AND notification.status = ?
    AND notification.lease_until = ? RETURNING notification.id"""
LEASE = timedelta(minutes=2)
_CLAIM = """UPDATE notification SET status = ?, lease_until = ?, attempts = attempts + 1
    WHERE id IN (SELECT id FROM notification WHERE status = ? AND next_attempt_at <= ?
                 ORDER BY id LIMIT ?{skip})
    RETURNING {columns}"""


@dataclass(frozen=True)
class NotificationConfig:
    shop_name: str = "Our shop"
    shop_address: tuple[str, ...] = ()
    email_from: str = "shop@localhost"
    default_locale: str = "en"
    staff_email: str | None = None  # staff alerts go here; None: no staff alerts by email
    staff_locale: str = "en"
    template_dir: Path | None = None
    ship_within_hours: int = 48  # the promise staff are alerted about


@dataclass(frozen=True)
class Preview:
    to: str | None
    rendered: Rendered


@dataclass(frozen=True)
class _Batch:
    """What the messages of the rows claimed together are made of, read once for all of
    them (four statements however many rows)."""

    orders: dict[int, Order]
    channels: dict[int, SalesChannel]
    customers: dict[int, Customer]
    lines: dict[int, list[OrderLine]]

    @classmethod
    async def read(cls, rows: Sequence[Notification]) -> _Batch:
        order_ids = sorted({row.order_id for row in rows if row.order_id})
        if not order_ids:
            return cls({}, {}, {}, {})
        orders = {order.id: order for order in await Order.filter(id__in=order_ids)}
        channels = {channel.id: channel for channel in await SalesChannel.filter(
            id__in=sorted({order.channel_id for order in orders.values()}))}
        customer_ids = sorted({o.customer_id for o in orders.values() if o.customer_id})
        customers = {customer.id: customer for customer in await Customer.filter(
            id__in=customer_ids)} if customer_ids else {}
        lines: dict[int, list[OrderLine]] = {order_id: [] for order_id in orders}
        for line in await OrderLine.filter(order_id__in=list(orders)).order_by(
                "order_id", "position", "id"):
            lines[line.order_id].append(line)
        return cls(orders, channels, customers, lines)

    def customer_of(self, order: Order | None) -> Customer | None:
        return self.customers.get(order.customer_id) if order and order.customer_id else None

    def lines_of(self, order: Order | None) -> list[OrderLine] | None:
        return self.lines.get(order.id) if order is not None else None


@dataclass
class Notifier:
    config: NotificationConfig
    mailer: EmailTransport
    sms: SmsSender | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    lease: timedelta = LEASE
    batch_size: int = 50
    interval: float = 5.0
    # Woken by every relay pass; a busy process sends what a quarter second owes in one
    # pass (one claim and one read of the orders for all of them).
    min_gap: float = 0.25

    def __post_init__(self) -> None:
        self.renderer = Renderer(self.config.template_dir)
        self._loop = Periodic("notifications", self.drain, interval=self.interval,
                              min_gap=self.min_gap)
        self._settled = datetime.min.replace(tzinfo=UTC)  # rows of stopped workers, last

    # --- owed with the publish ---------------------------------------------------------

    def rows_for(self, published: Sequence[OutboxMessage], now: datetime) -> list[Notification]:
        rows = []
        for message in published:
            event = event_type_of(message.payload)
            if event is None:
                continue
            order_id = message.payload.get("order_id")
            owed: list[tuple[str, str, Channel]] = []
            if event in (EventType.ORDER_EDITED, EventType.ORDER_LINES_CANCELLED) \
                    and not (message.payload.get("data") or {}).get("notify_customer"):
                pass  # staff did not ask to tell the customer
            elif event in CUSTOMER_KINDS and order_id is not None:
                owed.append((CUSTOMER, CUSTOMER_KINDS[event], Channel.EMAIL))
                if self.sms is not None:
                    owed.append((CUSTOMER, CUSTOMER_KINDS[event], Channel.SMS))
            if event in STAFF_KINDS and self.config.staff_email:
                owed.append((STAFF, STAFF_KINDS[event], Channel.EMAIL))
            rows += [Notification(event_id=message.id, channel=channel, kind=kind,
                                  audience=audience, order_id=order_id, payload=message.payload,
                                  next_attempt_at=now)
                     for audience, kind, channel in owed]
        return rows

    async def record(self, conn: BaseDBAsyncClient, published: list[OutboxMessage],
                     writes: Writes) -> None:
        """In the relay's transaction: the messages these events owe (once each), added to
        the pass's ``writes``."""
        writes.insert(conn, self.rows_for(published, datetime.now(UTC)), skip_existing=True)

    async def wake(self, _published: list[OutboxMessage]) -> None:
        self._loop.wake()

    # --- sending -------------------------------------------------------------------------

    async def claim(self, now: datetime | None = None) -> list[Notification]:
        """Lease the due rows (and settle rows whose worker died)."""
        now = now or datetime.now(UTC)
        if now - self._settled >= self.lease / 4:  # leases run for minutes: now and then
            self._settled = now
            expired = Notification.filter(status=Status.SENDING, lease_until__lt=now)
            await expired.filter(handed_at=None).update(status=Status.PENDING, lease_until=None)
            await expired.filter(handed_at__not_isnull=True).update(
                status=Status.UNCONFIRMED,
                last_error="handed over when its worker stopped: not sent again")
        # Taken and leased in one statement; rows another worker holds are skipped.
        conn = connection()
        fields = Notification._meta.fields_map
        columns = ", ".join(f'"{c}"' for c in Notification._meta.fields_db_projection.values())
        rows = await fetch(conn, _CLAIM.format(
            columns=columns, skip=" FOR UPDATE SKIP LOCKED" if is_postgres(conn) else ""), [
            Status.SENDING.value, fields["lease_until"].to_db_value(now + self.lease, Notification),
            Status.PENDING.value, fields["next_attempt_at"].to_db_value(now, Notification),
            self.batch_size])
        return sorted((Notification._init_from_db(**row) for row in rows), key=lambda r: r.id)

    async def run_once(self, now: datetime | None = None) -> int:
        claimed = await self.claim(now)
        if not claimed:
            return 0
        ready: list[tuple[Notification, EmailMessage | SmsMessage]] = []
        batch = await _Batch.read(claimed)
        for row in claimed:
            try:
                message = await self._compose(row, batch)
            except Exception as error:  # a merchant's template that does not render
                log.exception("notification %s could not be rendered", row.id)
                await self._retry(row, f"could not render: {type(error).__name__}: {error}")
                continue
            if message is not None:
                ready.append((row, message))
        emails = [(r, m) for r, m in ready if isinstance(m, EmailMessage)]
        texts = [(r, m) for r, m in ready if isinstance(m, SmsMessage)]
        if emails:
            await self._send_emails(emails)
        sent: list[Notification] = []
        try:
            await self._deliver(texts, self._send_sms, sent)
        finally:
            await self._mark_sent(sent)
        return len(claimed)

    async def drain(self) -> None:
        while await self.run_once() == self.batch_size:
            pass

    async def _send_emails(self, emails: list[tuple[Notification, EmailMessage]]) -> None:
        sent: list[Notification] = []
        try:
            async with self.mailer.connect() as session:
                await self._deliver(emails, session.send, sent)
        except Undelivered as error:  # the server could not be reached: nothing was sent
            for row, _ in emails:
                if row.status is Status.SENDING:
                    await self._retry(row, str(error))
        finally:
            await self._mark_sent(sent)

    async def _send_sms(self, message: SmsMessage) -> None:
        assert self.sms is not None
        await self.sms.send(message)

    async def _deliver(self, messages: Sequence[tuple[Notification, Any]],
                       send: Callable[[Any], Awaitable[None]], sent: list[Notification]
                       ) -> None:
        """Hand the rows over in one statement, then send each that is still this
        worker's, adding it to ``sent`` once sent (marked by the caller, whatever
        happens after it)."""
        taken = await self._hand_over([row for row, _ in messages])
        for row, message in messages:
            if row.id in taken and await self._send(row, lambda m=message: send(m)):
                sent.append(row)

    async def _hand_over(self, rows: Sequence[Notification]) -> set[int]:
        """Mark the rows handed over, with what they are sent to, in one statement, before
        any is sent: the ids still this worker's. A row whose lease ran out may be another
        worker's now: it is left alone (PENDING to this pass, which neither sends nor
        retries it). A row handed over and never marked sent (its worker stopped) is not
        sent again (UNCONFIRMED)."""
        if not rows:
            return set()
        conn = connection()
        fields = Notification._meta.fields_map
        lease = {row.lease_until for row in rows}
        assert len(lease) == 1, "one pass's rows share their lease"
        params: list[Any] = [fields["handed_at"].to_db_value(datetime.now(UTC), Notification)]
        for row in rows:
            params += [row.id, row.recipient, row.subject, row.locale]
        params += [Status.SENDING.value, fields["lease_until"].to_db_value(lease.pop(), Notification)]
        values = ", ".join(["(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT),"
                            " CAST(? AS TEXT))"] * len(rows))
        taken = {int(found["id"]) for found in await fetch(conn, _HAND_OVER.format(values), params)}
        for row in rows:
            if row.id not in taken:  # the lease ran out and another worker has it
                row.status = Status.PENDING
        return taken

    async def _send(self, row: Notification, send: Any) -> bool:
        """Send one row handed over: whether it was sent."""
        try:
            await send()
        except Undelivered as error:
            await self._retry(row, str(error))
            return False
        except Exception as error:
            log.warning("notification %s: outcome unknown, not sent again: %s", row.id, error)
            row.status = Status.UNCONFIRMED
            await Notification.filter(id=row.id).update(
                status=Status.UNCONFIRMED, lease_until=None,
                last_error=f"outcome unknown: {type(error).__name__}: {error}"[:500])
            metrics.count("notifications", outcome="unconfirmed")
            return False
        row.status = Status.SENT
        return True

    async def _mark_sent(self, rows: Sequence[Notification]) -> None:
        """The rows a pass sent, marked in one statement."""
        if not rows:
            return
        await Notification.filter(id__in=[row.id for row in rows]).update(
            status=Status.SENT, sent_at=datetime.now(UTC), lease_until=None, last_error=None)
        metrics.count("notifications", len(rows), outcome="sent")

    async def _retry(self, row: Notification, error: str) -> None:
        now = datetime.now(UTC)
        if now - row.created_at >= self.policy.max_age:
            row.status = Status.FAILED
            await Notification.filter(id=row.id).update(
                status=Status.FAILED, lease_until=None, handed_at=None, last_error=error[:500])
            metrics.count("notifications", outcome="failed")
            return
        row.status = Status.PENDING
        row.next_attempt_at = now + self.policy.delay(row.attempts)
        await Notification.filter(id=row.id).update(
            status=Status.PENDING, lease_until=None, handed_at=None, last_error=error[:500],
            next_attempt_at=row.next_attempt_at)
        metrics.count("notifications", outcome="retrying")

    async def _skip(self, row: Notification, why: str) -> None:
        row.status = Status.SKIPPED
        await Notification.filter(id=row.id).update(status=Status.SKIPPED, lease_until=None,
                                                    last_error=why)

    async def _compose(self, row: Notification, batch: _Batch
                       ) -> EmailMessage | SmsMessage | None:
        """The message a row stands for (None: skipped, and why is on the row)."""
        order = batch.orders.get(row.order_id) if row.order_id else None
        if row.audience == STAFF:
            context = await self._context(order, row.kind, row.payload,
                                          customer=batch.customer_of(order),
                                          lines=batch.lines_of(order))
            rendered = self.renderer.render(row.kind, context, locale=self.config.staff_locale,
                                            default_locale=self.config.staff_locale)
            row.recipient, row.subject, row.locale = (
                self.config.staff_email, rendered.subject, rendered.locale)
            return self._email(row, rendered)
        if order is None:
            await self._skip(row, "the order no longer exists")
            return None
        channel = batch.channels.get(order.channel_id)
        if channel is None:  # removed after the order was read, with the order
            await self._skip(row, "the order no longer exists")
            return None
        if channel.kind is ChannelKind.MARKETPLACE:
            await self._skip(row, "the marketplace tells its own buyers")
            return None
        customer = batch.customer_of(order)
        if customer is not None and (customer.email_opt_out if row.channel is Channel.EMAIL
                                     else customer.sms_opt_out):
            await self._skip(row, f"the customer opted out of {row.channel.value}")
            return None
        recipient = _recipient(row.channel, order, customer)
        if recipient is None:
            await self._skip(row, "no email address" if row.channel is Channel.EMAIL
                             else "no phone number")
            return None
        context = await self._context(order, row.kind, row.payload, customer=customer,
                                      lines=batch.lines_of(order))
        rendered = self.renderer.render(row.kind, context,
                                        locale=customer.locale if customer else None,
                                        default_locale=self.config.default_locale)
        row.recipient, row.subject, row.locale = recipient, rendered.subject, rendered.locale
        if row.channel is Channel.SMS:
            return SmsMessage(to=recipient, body=rendered.sms)
        return self._email(row, rendered)

    def _email(self, row: Notification, rendered: Rendered) -> EmailMessage:
        return EmailMessage(to=row.recipient or "", subject=rendered.subject, text=rendered.text,
                            html=rendered.html, sender=self.config.email_from,
                            message_id=f"<notification-{row.id}-{row.event_id}@oms>")

    # --- what a message says ---------------------------------------------------------------

    async def _context(self, order: Order | None, kind: str, payload: dict[str, Any], *,
                       customer: Customer | None = None,
                       lines: list[OrderLine] | None = None) -> dict[str, Any]:
        shop = {"name": self.config.shop_name, "address": list(self.config.shop_address),
                "email": self.config.email_from}
        data = payload.get("data") or {}
        alert = {k: v for k, v in payload.items() if k not in ("kind", "data")}
        alert["hours"] = self.config.ship_within_hours
        values: dict[str, Any] = {"shop": shop, "kind": kind, "alert": alert,
                                  "event": {"type": payload.get("type"),
                                            "message": payload.get("message")}}
        if order is None:
            return values
        if customer is None and order.customer_id:
            customer = await Customer.get_or_none(id=order.customer_id)
        if lines is None:
            lines = await OrderLine.filter(order_id=order.id).order_by("position", "id")
        values["order"] = {
            "number": order.number, "status": order.status.value,
            "total": format_amount(order.total, order.currency),
            "subtotal": format_amount(order.subtotal, order.currency),
            "shipping_total": format_amount(order.shipping_total, order.currency),
            "currency": order.currency, "email": order.email,
            "created_at": order.created_at.isoformat(timespec="minutes"),
            "shipping_address": order.shipping_address,
            "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                       "total": format_amount(line.total, order.currency)} for line in lines]}
        values["customer"] = {"name": (customer.name if customer else None) or (
            (order.shipping_address or {}).get("name")), "email": order.email}
        values["reason"] = order.cancel_reason if kind == "order_cancelled" else order.hold_reason
        alert["risk"] = "risk" in (order.hold_reason or "").lower() or "risk" in data
        if kind in SHIPMENT_KINDS:
            query = Shipment.filter(order_id=order.id)
            shipment = (await query.filter(id=data["shipment_id"]).first()
                        if data.get("shipment_id") else None) or \
                await query.order_by("-id").first()
            if shipment is not None:
                values["shipment"] = {"carrier": shipment.carrier, "service": shipment.service,
                                      "tracking_number": shipment.tracking_number,
                                      "tracking_url": shipment.tracking_url}
        if order.pickup_location_id:
            pickup = await Location.get_or_none(id=order.pickup_location_id)
            if pickup is not None:
                values["pickup"] = {"name": pickup.name, "code": pickup.code,
                                    "address": pickup.address}
        if kind == "refund_issued":
            values["refund"] = {"amount": format_amount(data["amount"], data["currency"])
                                if data.get("amount") else None}
        return values

    async def preview(self, scope: Scope, *, order_id: int, kind: str) -> Preview:
        """What the customer of an order would receive for ``kind`` now."""
        if kind not in PREVIEWABLE:
            raise InvalidInput("kind is one of " + ", ".join(PREVIEWABLE), field=("kind",))
        order = await scope.get(Order, order_id)
        if order is None:
            raise NotFound("Order", str(order_id), field=("orderId",))
        customer = await Customer.get_or_none(id=order.customer_id) if order.customer_id \
            else None
        payload: dict[str, Any] = {"order_id": order.id}
        if kind == "refund_issued":
            last = await _last_event(order.id, EventType.PAYMENT_REFUNDED)
            payload["data"] = last.data if last is not None else {}
        context = await self._context(order, kind, payload, customer=customer)
        try:
            rendered = self.renderer.render(kind, context,
                                            locale=customer.locale if customer else None,
                                            default_locale=self.config.default_locale)
        except TemplateProblem as problem:
            raise InvalidInput(f"The {kind} template does not render: {problem}",
                               field=("kind",)) from problem
        return Preview(to=_recipient(Channel.EMAIL, order, customer), rendered=rendered)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self.sms is not None:
            await self.sms.close()


def _recipient(channel: Channel, order: Order, customer: Customer | None) -> str | None:
    if channel is Channel.EMAIL:
        return order.email or (customer.email if customer else None)
    return (customer.phone if customer else None) or (order.shipping_address or {}).get("phone")


async def _last_event(order_id: int, event: EventType) -> Any:
    from domain.events.models import OrderEvent

    return await OrderEvent.filter(order_id=order_id, type=event).order_by("-sequence").first()


def log_page(scope: Scope, *, order_id: int | None = None) -> Any:
    """The delivery log the caller may read (newest first is the connection's)."""
    query = scope.query(Notification)
    return query.filter(order_id=order_id) if order_id is not None else query
