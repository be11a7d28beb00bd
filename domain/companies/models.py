"""The tables of companies, their locations (addresses) and contacts (customers)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class PaymentTerms(StrEnum):
    """When a company's order is due: on receipt (when placed) or NET days after."""

    DUE_ON_RECEIPT = "DUE_ON_RECEIPT"
    NET_15 = "NET_15"
    NET_30 = "NET_30"
    NET_60 = "NET_60"


TERM_DAYS: dict[PaymentTerms, int] = {
    PaymentTerms.DUE_ON_RECEIPT: 0, PaymentTerms.NET_15: 15, PaymentTerms.NET_30: 30,
    PaymentTerms.NET_60: 60,
}


class ContactRole(StrEnum):
    BUYER = "BUYER"
    ADMIN = "ADMIN"


class Company(Model):
    """A business that buys on account: its own prices, terms, credit limit and tax status."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    tax_exempt = fields.BooleanField(default=False)
    tax_number = fields.CharField(max_length=32, null=True)
    payment_terms = fields.CharEnumField(PaymentTerms, max_length=16,
                                         default=PaymentTerms.DUE_ON_RECEIPT)
    # The most it may owe (open receivables plus a new order); None: no limit.
    credit_limit = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    credit_currency = fields.CharField(max_length=3, null=True)
    po_required = fields.BooleanField(default=False)
    # The list its contacts buy at, ranked above their group's and the channel's.
    price_list_id = fields.IntField(null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "company"


class CompanyLocation(Model):
    """A company's address (an office, a warehouse it receives at)."""

    id = fields.IntField(primary_key=True)
    company: fields.ForeignKeyRelation[Company] = fields.ForeignKeyField(
        "oms.Company", related_name="locations", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    address: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    company_id: int

    class Meta:
        table = "company_location"


class CompanyContact(Model):
    """A customer who buys for a company (a customer is a contact of one company at most)."""

    id = fields.IntField(primary_key=True)
    company: fields.ForeignKeyRelation[Company] = fields.ForeignKeyField(
        "oms.Company", related_name="contacts", on_delete=fields.CASCADE)
    customer: fields.ForeignKeyRelation = fields.OneToOneField(
        "oms.Customer", related_name="company_contact", on_delete=fields.CASCADE)
    role: ContactRole | None = fields.CharEnumField(  # type: ignore[assignment]
        ContactRole, max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    company_id: int
    customer_id: int

    class Meta:
        table = "company_contact"
