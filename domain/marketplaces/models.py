"""How a marketplace channel is connected: the provider and its settings."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class MarketplaceConnection(Model):
    id = fields.IntField(primary_key=True)
    channel: fields.OneToOneRelation = fields.OneToOneField(
        "oms.Channel", related_name="marketplace", on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=32)
    settings: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    channel_id: int

    class Meta:
        table = "marketplace_connection"


class MarketplaceListing(Model):
    """A SKU as a marketplace channel sells it: its remote item and the last quantity pushed."""

    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Channel", related_name="listings", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=64)
    remote_item = fields.CharField(max_length=128, null=True)
    last_pushed = fields.IntField(null=True)
    # What the marketplace held when it refused a push as stale (to reconcile).
    drift = fields.IntField(null=True)
    dirty = fields.BooleanField(default=True, db_index=True)
    pushed_at = fields.DatetimeField(null=True)

    channel_id: int

    class Meta:
        table = "marketplace_listing"
        unique_together = (("channel", "sku"),)


class MarketplaceFulfillment(Model):
    """A dispatched shipment of a marketplace order, to be reported to the marketplace."""

    id = fields.IntField(primary_key=True)
    shipment_id = fields.IntField(unique=True)
    channel: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Channel", related_name="marketplace_fulfillments", on_delete=fields.CASCADE
    )
    sent = fields.BooleanField(default=False, db_index=True)
    attempts = fields.IntField(default=0)
    error = fields.CharField(max_length=500, null=True)

    channel_id: int

    class Meta:
        table = "marketplace_fulfillment"
