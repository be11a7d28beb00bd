"""The customer table; email is stored lower-cased and is unique."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from domain.acting import acting_staff_id


class CustomerGroup(Model):
    """A set of customers sold to at their own prices (trade, staff, VIP): price lists may
    name one (domain/catalog/prices.py)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_group"


class Customer(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, null=True)
    phone = fields.CharField(max_length=32, null=True)
    # Set once the customer registers; guests who only ordered have none.
    password_hash = fields.CharField(max_length=200, null=True)
    # Access tokens issued before this moment no longer hold a session open (a stolen
    # refresh token was replayed).
    sessions_revoked_at = fields.DatetimeField(null=True)
    # The language of the messages the customer receives (a BCP 47 tag such as "zh-Hans");
    # None: the shop's default. Opting out of a channel stops every notification on it.
    locale = fields.CharField(max_length=35, null=True)
    email_opt_out = fields.BooleanField(default=False, db_default=False)
    sms_opt_out = fields.BooleanField(default=False, db_default=False)
    # Buys without tax (a reseller, a charity), proved by the number on its invoices.
    tax_exempt = fields.BooleanField(default=False, db_default=False)
    tax_number = fields.CharField(max_length=32, null=True)
    # The group whose price lists the customer buys at; None: the channel's prices.
    customer_group: fields.ForeignKeyNullableRelation[CustomerGroup] = fields.ForeignKeyField(
        "oms.CustomerGroup", related_name="customers", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    customer_group_id: int | None

    class Meta:
        table = "customer"


class CustomerNote(Model):
    """A staff note on a customer: the shop's own, never shown to the customer."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "oms.Customer", related_name="notes", on_delete=fields.CASCADE
    )
    message = fields.TextField()
    actor = fields.CharField(max_length=200, null=True)
    # The staff member who wrote it (domain/acting.py); None for the admin token and apps.
    actor_staff_id = fields.IntField(null=True, default=acting_staff_id)
    created_at = fields.DatetimeField(auto_now_add=True)

    customer_id: int

    class Meta:
        table = "customer_note"


class RefreshToken(Model):
    """A customer's refresh token, stored by digest. Each use replaces it with a new one."""

    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "oms.Customer", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    digest = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    customer_id: int

    class Meta:
        table = "refresh_token"


class EmailVerification(Model):
    """A registration waiting for its owner to prove the address: the emailed token, stored
    by digest, and the password chosen, stored hashed. Used once, then deleted."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, db_index=True)
    digest = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=200)
    name = fields.CharField(max_length=200, null=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "email_verification"
