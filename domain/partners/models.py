"""OAuth clients of partner apps. Secrets are stored hashed, never in clear."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class OAuthClient(Model):
    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    secret_hash = fields.CharField(max_length=200)
    scopes: Any = fields.JSONField()
    # Channel codes the client is limited to; null means every channel.
    channels: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_client"
