"""The tables of invoices and credit notes, and the merchant's invoice settings."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class DocumentKind(StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class IssueOn(StrEnum):
    """When an order's invoice is issued by itself."""

    PAID = "PAID"  # its payment status becomes PAID
    SHIPPED = "SHIPPED"  # everything in it has shipped (fulfilment status FULFILLED)
    MANUAL = "MANUAL"  # never by itself: staff issue it (invoiceIssue)


class Invoice(Model):
    """An issued invoice or credit note: numbered once, never changed afterwards.

    Seller, buyer, lines, tax lines and totals are a snapshot taken when it was issued,
    so a later change to the order, the address or the merchant's settings does not
    rewrite a document already sent. ``source`` names what owed it (``order:<id>`` for an
    order's invoice, ``refund:<payment operation id>`` for a credit note): unique, so the
    same fact never issues two.
    """

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="invoices", on_delete=fields.RESTRICT)
    kind = fields.CharEnumField(DocumentKind, max_length=16, default=DocumentKind.INVOICE)
    # The credit note's invoice; null for an invoice.
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "oms.Invoice", related_name="credit_notes", null=True, on_delete=fields.RESTRICT)
    series = fields.CharField(max_length=16)
    year = fields.IntField()
    sequence = fields.IntField()
    number = fields.CharField(max_length=40, unique=True)
    source = fields.CharField(max_length=64, unique=True)
    currency = fields.CharField(max_length=3)
    total = fields.DecimalField(max_digits=18, decimal_places=4)
    seller: Any = fields.JSONField()
    buyer: Any = fields.JSONField()
    lines: Any = fields.JSONField()
    tax_lines: Any = fields.JSONField(default=list)
    totals: Any = fields.JSONField()
    issued_by = fields.CharField(max_length=200, null=True)
    issued_at = fields.DatetimeField()

    order_id: int
    invoice_id: int | None

    class Meta:
        table = "invoice"
        unique_together = (("series", "year", "sequence"),)


class InvoiceSettingsRow(Model):
    """The merchant's invoice settings: one row (id 1), JSON of the changed fields only."""

    id = fields.IntField(primary_key=True)
    config: Any = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "invoice_settings"
