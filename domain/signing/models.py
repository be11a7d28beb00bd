"""Signing keys as stored: private JWKs, readable by the app's database role only."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class SigningKey(Model):
    id = fields.IntField(primary_key=True)
    kid = fields.CharField(max_length=64, unique=True)
    # The private JWK (RFC 7517) as JSON; never served: the JWKS endpoint shows public halves.
    jwk: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "signing_key"
        table_description = "Private keys that sign access tokens, the newest signing."
