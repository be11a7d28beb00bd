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
