"""This database's own id, made on first start: what tells deployments sharing a Redis apart.

Every process on one database reads the same id, whatever URL it reached the database by;
two databases never share one (unless one is a copy of the other: give the copy its own
``OMS_REDIS_PREFIX``).
"""

from __future__ import annotations

import secrets

from tortoise import fields
from tortoise.models import Model


class Deployment(Model):
    """One row: the id the first process to start on this database chose."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "deployment"


async def deployment_key() -> str:
    """The stored id; the first caller stores one, concurrent first callers agree on it."""
    await Deployment.bulk_create([Deployment(id=1, key=secrets.token_hex(8))],
                                 ignore_conflicts=True)
    return (await Deployment.get(id=1)).key
