"""Order tables: the order, its lines, and where each line's units are reserved."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    ON_HOLD = "ON_HOLD"
    CONFIRMED = "CONFIRMED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class HoldKind(StrEnum):
    """Why an order is ON_HOLD, and so where releasing it goes."""

    MANUAL = "MANUAL"  # staff held a pending order; released to PENDING
    RISK = "RISK"  # risk screening held it at placement; released to PENDING
    STOCK = "STOCK"  # an imported order short of stock, nothing reserved
    FULFILLMENT = "FULFILLMENT"  # a confirmed order stopped from shipping; back to CONFIRMED


class PaymentStatus(StrEnum):
    UNPAID = "UNPAID"
    AUTHORIZED = "AUTHORIZED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "UNFULFILLED"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    FULFILLED = "FULFILLED"
    PARTIALLY_RETURNED = "PARTIALLY_RETURNED"
    RETURNED = "RETURNED"


class Order(Model):
    id = fields.IntField(primary_key=True)
    # Assigned at the end of the placing transaction; never null once committed.
    number = fields.CharField(max_length=32, unique=True, null=True)
    lines: fields.ReverseRelation[OrderLine]
    channel: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Channel", related_name="orders", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Customer", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    email = fields.CharField(max_length=254, null=True)
    status = fields.CharEnumField(OrderStatus, max_length=16, default=OrderStatus.PENDING)
    payment_status = fields.CharEnumField(
        PaymentStatus, max_length=24, default=PaymentStatus.UNPAID
    )
    fulfillment_status = fields.CharEnumField(
        FulfillmentStatus, max_length=24, default=FulfillmentStatus.UNFULFILLED
    )
    currency = fields.CharField(max_length=3)
    subtotal = fields.DecimalField(max_digits=18, decimal_places=4)
    shipping_total = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    total = fields.DecimalField(max_digits=18, decimal_places=4)
    shipping_address: Any = fields.JSONField(null=True)
    billing_address: Any = fields.JSONField(null=True)
    shipping_method = fields.CharField(max_length=64, null=True)
    pickup_location: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Location", related_name="pickup_orders", null=True, on_delete=fields.RESTRICT
    )
    po_number = fields.CharField(max_length=64, null=True)
    external_id = fields.CharField(max_length=128, null=True)
    # Placed by a signed-in customer (guest orders of the same email are not theirs to see).
    via_account = fields.BooleanField(default=False)
    hold_reason = fields.CharField(max_length=500, null=True)
    hold_kind: HoldKind | None = fields.CharEnumField(  # type: ignore[assignment]
        HoldKind, max_length=16, null=True)  # (the stubs type a nullable enum field as not null)
    # Risk screening at placement: the score and its reasons (staff only), and the buyer's
    # keys it counts orders by (the address as a digest).
    risk_score = fields.IntField(null=True)
    risk_reasons: Any = fields.JSONField(null=True)
    client_ip = fields.CharField(max_length=64, null=True)
    card_fingerprint = fields.CharField(max_length=128, null=True)
    address_key = fields.CharField(max_length=40, null=True)
    cancel_reason = fields.CharField(max_length=500, null=True)
    # An exchange's replacement: the order whose returned goods it replaces.
    replaces_order_id = fields.IntField(null=True, db_index=True)
    # What an exchange's returned goods pay of this replacement order (its total, up to
    # their value): the money due is the total less this.
    exchange_credit = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    # Money (domain/taxes/table.py): every amount above is what the customer is charged,
    # tax included; these say how much of it is tax, and how it was worked out.
    prices_include_tax = fields.BooleanField(default=False, db_default=False)
    tax_total = fields.DecimalField(max_digits=18, decimal_places=4, default=0, db_default=0)
    shipping_tax = fields.DecimalField(max_digits=18, decimal_places=4, default=0,
                                       db_default=0)
    shipping_tax_rate = fields.DecimalField(max_digits=7, decimal_places=4, default=0,
                                            db_default=0)
    shipping_tax_name = fields.CharField(max_length=64, null=True)
    discount_total = fields.DecimalField(max_digits=18, decimal_places=4, default=0,
                                         db_default=0)
    tax_exempt = fields.BooleanField(default=False, db_default=False)
    tax_number = fields.CharField(max_length=32, null=True)  # the exempt buyer's
    # A company's order (B2B, domain/companies/): placed by its contact, on its terms; due
    # by payment_due_at (placed + the terms' days).
    company_id = fields.IntField(null=True, db_index=True)
    payment_terms = fields.CharField(max_length=16, null=True)
    payment_due_at = fields.DatetimeField(null=True)
    # The sequence number of the order's latest event; events are numbered 1, 2, 3 ...
    event_seq = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    channel_id: int
    customer_id: int | None
    pickup_location_id: int | None

    class Meta:
        table = "orders"
        unique_together = (("channel", "external_id"),)


class OrderLine(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "oms.Order", related_name="lines", on_delete=fields.CASCADE
    )
    variant: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Variant", related_name="order_lines", null=True, on_delete=fields.SET_NULL
    )
    sku = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=18, decimal_places=4)
    # The price list the unit price came from (None: the variant's own price, or one set by
    # staff), by id and code: no foreign key, so the line keeps both if the list is deleted.
    price_list_id = fields.IntField(null=True)
    price_list_code = fields.CharField(max_length=64, null=True)
    total = fields.DecimalField(max_digits=18, decimal_places=4)
    quantity_backordered = fields.IntField(default=0)
    quantity_shipped = fields.IntField(default=0)
    quantity_returned = fields.IntField(default=0)
    # Units cancelled after the order was placed (orderLinesCancel); quantity is what is left.
    quantity_cancelled = fields.IntField(default=0, db_default=0)
    # total = unit_price x quantity - discount_amount (+ tax_amount when the order's prices
    # are without tax): what the customer pays for the line.
    discount_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0,
                                          db_default=0)
    tax_rate = fields.DecimalField(max_digits=7, decimal_places=4, default=0, db_default=0)
    tax_name = fields.CharField(max_length=64, null=True)
    tax_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0, db_default=0)
    position = fields.IntField(default=0)

    order_id: int
    variant_id: int | None

    class Meta:
        table = "order_line"


class Allocation(Model):
    """Units of one line reserved at one location. Released allocations keep their history."""

    id = fields.IntField(primary_key=True)
    order_line: fields.ForeignKeyRelation[OrderLine] = fields.ForeignKeyField(
        "oms.OrderLine", related_name="allocations", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Location", related_name="allocations", on_delete=fields.RESTRICT
    )
    stock_level: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.StockLevel", related_name="allocations", on_delete=fields.RESTRICT
    )
    quantity = fields.IntField()
    released = fields.BooleanField(default=False)

    order_line_id: int
    location_id: int
    stock_level_id: int

    class Meta:
        table = "allocation"


class Counter(Model):
    """Named counters taken inside a transaction, so a rolled-back order leaves no gap."""

    name = fields.CharField(max_length=32, primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "counter"
