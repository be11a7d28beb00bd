"""The merchant's tax rates, by country, region and tax class."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class TaxClass(StrEnum):
    """What a variant is taxed as. EXEMPT is never taxed, whatever the rates say; ZERO is
    taxed at 0 unless the merchant sets a rate for it (it still shows on invoices)."""

    STANDARD = "STANDARD"
    REDUCED = "REDUCED"
    ZERO = "ZERO"
    EXEMPT = "EXEMPT"


class TaxRate(Model):
    """One rate: a country's (``region`` NULL) or a region's, which wins over the country's
    for addresses in that region (an ISO 3166-2 code, "US-CA")."""

    id = fields.IntField(primary_key=True)
    country = fields.CharField(max_length=2)
    region = fields.CharField(max_length=10, null=True)
    tax_class = fields.CharEnumField(TaxClass, max_length=16)
    rate = fields.DecimalField(max_digits=7, decimal_places=4)  # percent: 19.0000
    name = fields.CharField(max_length=64)  # on receipts and invoices: "MwSt. 19%"
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tax_rate"
        unique_together = (("country", "region", "tax_class"),)
        table_description = "The merchant's tax rates by country, region and tax class."
