"""Staff members, their roles (a set of permissions) and their signed-in sessions."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class StaffRole(Model):
    """A named set of permissions: the built-in roles (``roles.BUILT_IN``, written on first
    use, their permissions always the code's) and custom ones made from the list."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    permissions: Any = fields.JSONField()  # the permission values, sorted
    built_in = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_role"


class StaffMember(Model):
    """A person who signs in to run the shop. Email is stored lower-cased and is unique."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, null=True)
    role: fields.ForeignKeyRelation[StaffRole] = fields.ForeignKeyField(
        "oms.StaffRole", related_name="members", on_delete=fields.RESTRICT)
    active = fields.BooleanField(default=True)
    # None until the member sets one with the emailed code (an invitation or a reset).
    password_hash = fields.CharField(max_length=200, null=True)
    password_code_digest = fields.CharField(max_length=64, null=True, unique=True)
    password_code_expires_at = fields.DatetimeField(null=True)
    # The TOTP secret once confirmed; the pending one while the member sets it up.
    totp_secret = fields.CharField(max_length=64, null=True)
    totp_pending_secret = fields.CharField(max_length=64, null=True)
    # The last time step whose code was accepted: a code works once.
    totp_last_step = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    role_id: int

    class Meta:
        table = "staff_member"


class StaffSession(Model):
    """A signed-in session, stored by the digest of its bearer token. Revoked or expired,
    it is refused on the next request."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[StaffMember] = fields.ForeignKeyField(
        "oms.StaffMember", related_name="sessions", on_delete=fields.CASCADE)
    digest = fields.CharField(max_length=64, unique=True)
    address = fields.CharField(max_length=64, null=True)
    user_agent = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    staff_id: int

    class Meta:
        table = "staff_session"
