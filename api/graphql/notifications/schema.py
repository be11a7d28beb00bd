"""Customer notifications and staff alerts: the delivery log, previews, and a customer's
channels and language."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, bad_request, graphql_error, user_errors
from api.graphql.ids import pk_of
from api.graphql.permissions import requires
from api.graphql.relay import Connection, id_page, to_global_id, window
from domain.access.principal import Kind
from domain.errors import DomainError, NotPermitted
from domain.notifications import models
from domain.notifications.preferences import update_preferences
from domain.notifications.service import log_page


@strawberry.enum(description="How a notification reaches its reader.")
class NotificationChannel(Enum):
    EMAIL = "email"
    SMS = "sms"


@strawberry.enum
class NotificationStatus(Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"


@strawberry.type(description="One message of the delivery log: what an event owed a customer "
                 "or the staff, on one channel, and what became of it.")
class Notification:
    id: strawberry.ID
    kind: str = strawberry.field(description="order_placed, order_shipped, ..., staff_low_stock")
    audience: str = strawberry.field(description="customer or staff")
    channel: NotificationChannel
    status: NotificationStatus
    order_id: strawberry.ID | None
    recipient: str | None
    subject: str | None
    locale: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_model(cls, m: models.Notification) -> Notification:
        return cls(id=to_global_id("Notification", m.id), kind=m.kind, audience=m.audience,
                   channel=NotificationChannel(m.channel.value),
                   status=NotificationStatus(m.status.value),
                   order_id=to_global_id("Order", m.order_id) if m.order_id else None,
                   recipient=m.recipient, subject=m.subject, locale=m.locale,
                   attempts=m.attempts, last_error=m.last_error,
                   next_attempt_at=m.next_attempt_at, created_at=m.created_at,
                   sent_at=m.sent_at)


@strawberry.type(description="What a customer would receive now for a kind of notification.")
class NotificationPreview:
    kind: str
    to: str | None
    locale: str
    subject: str
    text: str
    html: str
    sms: str


@strawberry.type
class NotificationPreferences:
    customer_id: strawberry.ID
    locale: str | None
    email_opt_out: bool
    sms_opt_out: bool


@strawberry.input
class CustomerNotificationPreferencesUpdateInput:
    customer_id: strawberry.ID
    email_opt_out: bool | None = None
    sms_opt_out: bool | None = None
    locale: str | None = strawberry.field(
        default=None, description='A language tag (en, zh-Hans, zh-CN); "" for the shop\'s.')


@strawberry.type
class CustomerNotificationPreferencesUpdatePayload:
    preferences: NotificationPreferences | None
    user_errors: list[UserError]


def _staff(info: Info) -> None:
    principal = info.context.principal
    if principal is None or principal.kind not in (Kind.ADMIN, Kind.PARTNER):
        raise graphql_error("Notifications are for the shop's staff", "FORBIDDEN")


@strawberry.type
class NotificationQueries:
    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="The delivery log of customer notifications and staff alerts, "
                      "newest first (the shop's staff).")
    async def notifications(self, info: Info, order_id: strawberry.ID | None = None,
                            first: int | None = None, after: str | None = None,
                            last: int | None = None, before: str | None = None,
                            ) -> Connection[Notification]:
        _staff(info)
        asked = window(int, first=first, after=after, last=last, before=before)
        order = pk_of(order_id, "Order", field=("orderId",)) if order_id is not None else None
        return await id_page(log_page(info.context.scope, order_id=order), asked,
                             newest_first=True, node=Notification.from_model)

    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="What the order's customer would receive for a kind "
                      "(order_placed, order_confirmed, order_shipped, out_for_delivery, "
                      "delivered, ready_for_pickup, order_cancelled, order_edited, "
                      "return_approved, refund_issued), rendered from the current templates.")
    async def notification_preview(self, info: Info, order_id: strawberry.ID, kind: str
                                   ) -> NotificationPreview:
        _staff(info)
        try:
            preview = await info.context.services.notifier.preview(
                info.context.scope, order_id=pk_of(order_id, "Order", field=("orderId",)),
                kind=kind)
        except NotPermitted as error:
            raise graphql_error(error.message, "FORBIDDEN") from error
        except DomainError as error:
            raise bad_request(error.message) from error
        r = preview.rendered
        return NotificationPreview(kind=kind, to=preview.to, locale=r.locale, subject=r.subject,
                                   text=r.text, html=r.html, sms=r.sms)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(extensions=requires(Permission.ORDERS_READ),
                         description="Opt a customer out of (or back into) email or SMS "
                         "notifications, or set its language: the customer itself, or staff "
                         "who may write orders.")
    async def customer_notification_preferences_update(
        self, info: Info, input: CustomerNotificationPreferencesUpdateInput,
    ) -> CustomerNotificationPreferencesUpdatePayload:
        try:
            customer = await update_preferences(
                info.context.scope,
                customer_id=pk_of(input.customer_id, "Customer", field=("customerId",)),
                email_opt_out=input.email_opt_out, sms_opt_out=input.sms_opt_out,
                locale=input.locale)
        except NotPermitted as error:
            raise graphql_error(error.message, "FORBIDDEN") from error
        except DomainError as error:
            return CustomerNotificationPreferencesUpdatePayload(
                preferences=None, user_errors=user_errors(error))
        return CustomerNotificationPreferencesUpdatePayload(
            preferences=NotificationPreferences(
                customer_id=to_global_id("Customer", customer.id), locale=customer.locale,
                email_opt_out=customer.email_opt_out, sms_opt_out=customer.sms_opt_out),
            user_errors=[])
