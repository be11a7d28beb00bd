"""The delivery log: one row per (event, channel, kind), written with the event's publish.

The unique constraint is the claim: an event published twice (at-least-once relay) owes
one message per channel and kind. A row is leased before it is sent and marked
``handed_at`` just before the message is handed to the server, so a process that dies
before that point leaves a row that is sent later, and one that dies after it a row that
is never sent again (``UNCONFIRMED``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Status(StrEnum):
    PENDING = "pending"  # to send (again) at next_attempt_at
    SENDING = "sending"  # leased by a worker until lease_until
    SENT = "sent"
    SKIPPED = "skipped"  # opted out, or nobody to send to
    FAILED = "failed"  # given up after the retry window
    UNCONFIRMED = "unconfirmed"  # handed over when its worker died: never sent again


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    event_id = fields.BigIntField()  # the outbox row of the event it tells about
    channel = fields.CharEnumField(Channel, max_length=8)
    kind = fields.CharField(max_length=40)  # order_shipped, staff_low_stock, ...
    audience = fields.CharField(max_length=8)  # customer or staff
    order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Order", related_name="notifications", null=True, on_delete=fields.CASCADE)
    payload: Any = fields.JSONField()  # the event as published
    status = fields.CharEnumField(Status, max_length=12, default=Status.PENDING)
    recipient = fields.CharField(max_length=254, null=True)
    subject = fields.CharField(max_length=300, null=True)
    locale = fields.CharField(max_length=35, null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    next_attempt_at = fields.DatetimeField(db_index=True)
    lease_until = fields.DatetimeField(null=True)
    handed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    order_id: int | None

    class Meta:
        table = "notification"
        unique_together = (("event_id", "channel", "kind"),)
        indexes = (("status", "next_attempt_at"),)
