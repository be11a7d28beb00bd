"""The table of the merchant's risk settings."""

from __future__ import annotations

from typing import Any

from tortoise import fields as orm
from tortoise.models import Model


class RiskSettingsRow(Model):
    """The merchant's changes to the risk settings: one row (id 1), JSON of the changed
    fields only."""

    id = orm.IntField(primary_key=True)
    config: Any = orm.JSONField(default=dict)
    updated_at = orm.DatetimeField(auto_now=True)

    class Meta:
        table = "risk_settings"
