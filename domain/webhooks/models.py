"""Webhook subscriptions of partners, and every delivery made to them (the delivery log)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookSubscription(Model):
    id = fields.IntField(primary_key=True)
    # Who manages it: "admin", or a partner's OAuth client id.
    owner = fields.CharField(max_length=100, db_index=True)
    url = fields.CharField(max_length=2000)
    events: Any = fields.JSONField()
    secret = fields.CharField(max_length=200)
    # The owner's channel limits, copied at creation: events of other channels are not sent.
    channel_ids: Any = fields.JSONField(null=True)
    active = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_subscription"


class WebhookDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[WebhookSubscription] = fields.ForeignKeyField(
        "oms.WebhookSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    delivery_id = fields.CharField(max_length=64, unique=True)
    # The outbox row it was made from: one delivery per subscription and row, made in the
    # transaction that marks the row published (null only for rows from before that rule).
    outbox_id = fields.BigIntField(null=True)
    event = fields.CharField(max_length=100)
    payload: Any = fields.JSONField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    subscription_id: int

    class Meta:
        table = "webhook_delivery"
        unique_together = (("subscription", "outbox_id"),)
