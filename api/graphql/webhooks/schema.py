"""Webhook subscriptions and their delivery log, managed by their owner."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import requires
from api.graphql.relay import Connection, id_page, window
from domain.webhooks import models, service


@strawberry.type
class WebhookDelivery:
    delivery_id: str
    event: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, m: models.WebhookDelivery) -> WebhookDelivery:
        return cls(delivery_id=m.delivery_id, event=m.event, status=m.status.value,
                   attempts=m.attempts, last_status=m.last_status, last_error=m.last_error,
                   next_attempt_at=m.next_attempt_at, created_at=m.created_at,
                   delivered_at=m.delivered_at)


@strawberry.type
class WebhookSubscription:
    id: int
    url: str
    events: list[str]
    active: bool
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.WebhookSubscription) -> WebhookSubscription:
        return cls(id=m.id, url=m.url, events=list(m.events), active=m.active,
                   disabled_reason=m.disabled_reason, created_at=m.created_at)

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(self, info: Info, first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None,
                         ) -> Connection[WebhookDelivery]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.WebhookDelivery).filter(subscription_id=self.id)
        return await id_page(query, asked, newest_first=True, node=WebhookDelivery.from_model)


@strawberry.input
class WebhookSubscriptionCreateInput:
    url: str
    events: list[str] = strawberry.field(
        description="Categories (order, shipment, payment, return, inventory) or events "
        "(order.placed, shipment.delivered, ...).")
    secret: str | None = strawberry.field(
        default=None, description="The signing secret; one is made for you when absent.")


@strawberry.type
class WebhookSubscriptionCreatePayload:
    subscription: WebhookSubscription | None
    secret: str | None = strawberry.field(description="Verify our signatures with it.")
    user_errors: list[UserError]


@strawberry.type
class WebhookDeliveryRetryPayload:
    delivery: WebhookDelivery | None
    user_errors: list[UserError]


def _owner(info: Info) -> str:
    return info.context.principal.client


@strawberry.type
class WebhookQueries:
    @strawberry.field(extensions=requires(Permission.WEBHOOKS_MANAGE),
                      description="Your webhook subscriptions.")
    async def webhook_subscriptions(self, info: Info) -> list[WebhookSubscription]:
        rows = await info.context.scope.query(models.WebhookSubscription).filter(
            owner=_owner(info)).order_by("id")
        return [WebhookSubscription.from_model(r) for r in rows]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(extensions=requires(Permission.WEBHOOKS_MANAGE),
                         description="Receive signed events at a URL.")
    async def webhook_subscription_create(
        self, info: Info, input: WebhookSubscriptionCreateInput
    ) -> WebhookSubscriptionCreatePayload:
        principal = info.context.principal
        created, errors = await attempt(service.create_subscription(
            owner=principal.client, url=input.url, events=input.events, secret=input.secret,
            channels=sorted(principal.channels) if principal.channels is not None else None,
            urls=info.context.services.webhook_urls))
        if created is None:
            return WebhookSubscriptionCreatePayload(subscription=None, secret=None,
                                                    user_errors=errors)
        subscription, secret = created
        return WebhookSubscriptionCreatePayload(
            subscription=WebhookSubscription.from_model(subscription), secret=secret,
            user_errors=[])

    @strawberry.mutation(extensions=requires(Permission.WEBHOOKS_MANAGE),
                         description="Send a delivery again now; re-enables its subscription.")
    async def webhook_delivery_retry(self, info: Info, delivery_id: str
                                     ) -> WebhookDeliveryRetryPayload:
        owner = None if info.context.principal.allows(Permission.ADMIN) else _owner(info)
        delivery, errors = await attempt(service.retry_delivery(delivery_id=delivery_id,
                                                                owner=owner))
        if delivery is not None:
            info.context.services.webhooks.wake()
        return WebhookDeliveryRetryPayload(
            delivery=WebhookDelivery.from_model(delivery) if delivery else None,
            user_errors=errors)
