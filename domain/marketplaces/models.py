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
