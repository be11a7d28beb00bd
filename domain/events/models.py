"""Event tables. Both rows are written in the transaction of the change they describe."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from domain.acting import acting_staff_id


class OrderEvent(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="events", on_delete=fields.CASCADE
    )
    sequence = fields.IntField()
    type = fields.CharField(max_length=64)
    message = fields.TextField(null=True)
    actor = fields.CharField(max_length=200, null=True)
    # The staff member who did it, from the request (domain/acting.py); None for
    # the admin token, partners, customers and the system.
    actor_staff_id = fields.IntField(null=True, default=acting_staff_id)
    data: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    order_id: int

    class Meta:
        table = "order_event"
        unique_together = (("order", "sequence"),)


class OutboxMessage(Model):
    """A fact to publish after commit. The relay marks it published once the bus took it."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=200)
    payload: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "outbox_message"
