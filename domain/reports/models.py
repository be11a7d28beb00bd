"""Summary tables the sales report reads instead of every order line.

``sales_slot`` holds each quarter hour's sales per channel and currency (so a
day, week or month in any time zone, all of whose offsets are whole quarter
hours, is a sum of slots); ``sales_day`` holds each UTC day's sales per SKU.
Both are rebuilt, a slot or a day at a time, from the orders themselves:
triggers on every table a sale is made of note the quarter hour of the
order they touch in ``report_dirty``, and ``domain.reports.rollup.refresh``
recomputes what was noted.

``location_id`` is 0 for all locations together, -1 for units neither
shipped nor reserved anywhere, else the location's id.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ALL_LOCATIONS = 0
NO_LOCATION = -1


class _Sales(Model):
    """What both summaries hold per bucket, channel, currency and location scope."""

    id = fields.BigIntField(primary_key=True)
    channel_id = fields.IntField()
    currency = fields.CharField(max_length=3)
    location_id = fields.IntField()
    orders = fields.IntField()
    units = fields.IntField()
    gross = fields.DecimalField(max_digits=18, decimal_places=4)
    refunds = fields.DecimalField(max_digits=28, decimal_places=10)  # shares of refunds

    class Meta:
        abstract = True


class SalesSlot(_Sales):
    slot = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sales_slot"


class SalesDay(_Sales):
    day = fields.DateField(db_index=True)
    sku = fields.CharField(max_length=64)

    class Meta:
        table = "sales_day"


class ReportDirty(Model):
    """A quarter hour whose orders changed since the summaries were last brought up to date."""

    id = fields.BigIntField(primary_key=True)
    slot = fields.DatetimeField()

    class Meta:
        table = "report_dirty"


class SummaryDirty(Model):
    """A quarter hour (or a customer) whose fulfilment and customer summaries are out of date.

    A trigger copies every quarter hour noted in ``report_dirty``; a customer is
    noted by itself when an order leaves it for another customer.
    """

    id = fields.BigIntField(primary_key=True)
    slot = fields.DatetimeField(null=True)
    customer_id = fields.IntField(null=True)

    class Meta:
        table = "summary_dirty"


class ParcelTime(Model):
    """Each parcel's times as the fulfilment report counts them, one row per shipment.

    ``*_tenths``: tenths of an hour from the order to shipping or delivery, rounded
    half to even (what the report shows); ``*_hours``: the whole hours begun (the
    parcel is within a promise of P hours when ``ship_hours <= P``). ``carrier`` is
    '' for none. Rebuilt with the order's quarter hour.
    """

    id = fields.IntField(primary_key=True, generated=False)  # the shipment's id
    order_id = fields.IntField()
    placed_at = fields.DatetimeField()
    channel_id = fields.IntField()
    location_id = fields.IntField()
    carrier = fields.CharField(max_length=64)
    live = fields.BooleanField()  # not cancelled
    ship_tenths = fields.IntField(null=True)
    ship_hours = fields.IntField(null=True)
    deliver_tenths = fields.IntField(null=True)
    deliver_hours = fields.IntField(null=True)

    class Meta:
        table = "parcel_time"


class ParcelMonth(Model):
    """Per UTC month of the orders, channel, location and carrier: how many parcels
    shipped (``kind`` 0) or were delivered (``kind`` 1) in each whole hour begun."""

    id = fields.BigIntField(primary_key=True)
    month = fields.DateField()
    channel_id = fields.IntField()
    location_id = fields.IntField()
    carrier = fields.CharField(max_length=64)
    kind = fields.SmallIntField()
    hours = fields.IntField()
    parcels = fields.IntField()

    class Meta:
        table = "parcel_month"


class FulfillmentDay(Model):
    """Per UTC day of the orders and channel: orders by status (and, on hold or
    cancelled, reason), and how many of them went out in more than one parcel."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    channel_id = fields.IntField()
    status = fields.CharField(max_length=24)
    reason = fields.CharField(max_length=500, null=True)
    orders = fields.IntField()
    split = fields.IntField()

    class Meta:
        table = "fulfillment_day"


class CustomerSummary(Model):
    """A customer's orders that were not cancelled: how many (an exchange's replacement
    is none) and the last one placed. No row: no such order."""

    customer_id = fields.IntField(primary_key=True, generated=False)
    order_count = fields.IntField()
    last_order_at = fields.DatetimeField()

    class Meta:
        table = "customer_summary"


class CustomerValue(Model):
    """A customer's lifetime value in one currency, in ten-thousandths (exact on both
    databases, and an index walk to sort by)."""

    id = fields.BigIntField(primary_key=True)
    customer_id = fields.IntField()
    currency = fields.CharField(max_length=3)
    value = fields.BigIntField()

    class Meta:
        table = "customer_value"
