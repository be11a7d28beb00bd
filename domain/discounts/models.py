"""Discount tables: promotions, their voucher codes, each code's redemptions, and the
discounts an order was given (with each one's share per line)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class DiscountKind(StrEnum):
    PERCENTAGE = "PERCENTAGE"  # value: percent, 0 < p <= 100
    FIXED = "FIXED"  # value: an amount in the promotion's currency


class DiscountTarget(StrEnum):
    LINES = "LINES"  # off each eligible line (a FIXED value off each unit)
    ORDER = "ORDER"  # off the eligible lines together, spread over them
    SHIPPING = "SHIPPING"  # off the shipping (100% is free shipping)


class Promotion(Model):
    """A discount the shop gives: automatically, or only with one of its voucher codes
    (``requires_code``)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(DiscountKind, max_length=16)
    target = fields.CharEnumField(DiscountTarget, max_length=16)
    value = fields.DecimalField(max_digits=18, decimal_places=4)
    # A FIXED promotion's (and one with a minimum subtotal): it applies only to orders in it.
    currency = fields.CharField(max_length=3, null=True)
    min_subtotal = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    # Restrictions: None is no restriction.
    skus: Any = fields.JSONField(null=True)
    channels: Any = fields.JSONField(null=True)  # channel codes
    customer_groups: Any = fields.JSONField(null=True)  # customer group ids
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)  # exclusive
    active = fields.BooleanField(default=True)
    requires_code = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "promotion"
        table_description = "A discount: percentage or fixed, on lines, the order or shipping."


class Voucher(Model):
    """A code that redeems its promotion. ``uses`` counts the orders it was redeemed on,
    raised by a guarded update in each order's transaction (never past ``max_uses``)."""

    id = fields.IntField(primary_key=True)
    promotion: fields.ForeignKeyRelation[Promotion] = fields.ForeignKeyField(
        "oms.Promotion", related_name="vouchers", on_delete=fields.CASCADE)
    code = fields.CharField(max_length=64, unique=True)  # upper case
    max_uses = fields.IntField(null=True)  # 1: single-use; None: unlimited
    per_customer_limit = fields.IntField(null=True)
    uses = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    promotion_id: int

    class Meta:
        table = "voucher"
        table_description = "A voucher code of a promotion, with its usage limits."


class VoucherRedemption(Model):
    """One order's use of a code, by its customer (per-customer limits count these)."""

    id = fields.IntField(primary_key=True)
    voucher: fields.ForeignKeyRelation[Voucher] = fields.ForeignKeyField(
        "oms.Voucher", related_name="redemptions", on_delete=fields.CASCADE)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="voucher_redemptions", on_delete=fields.CASCADE)
    customer_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    voucher_id: int
    order_id: int

    class Meta:
        table = "voucher_redemption"
        table_description = "An order's use of a voucher code."


class OrderDiscount(Model):
    """A discount an order was given: which promotion (and code), how much, and each line's
    share of it (``lines``: [{"position", "amount"}]; none for a shipping discount). The
    promotion's name and code are kept, so the order shows them after it is deleted."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="discounts", on_delete=fields.CASCADE)
    promotion_id = fields.IntField(null=True)
    name = fields.CharField(max_length=200)
    code = fields.CharField(max_length=64, null=True)
    target = fields.CharEnumField(DiscountTarget, max_length=16)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    lines: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    order_id: int

    class Meta:
        table = "order_discount"
        table_description = "A discount an order was given, with each line's share."
