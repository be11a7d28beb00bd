"""Companies (B2B): their locations and contacts, price list, payment terms, credit limit
and tax exemption; orders and draft orders placed for a company, with their terms and due
date. New columns are nullable, so rows the previous release writes while this one rolls
out fit."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.migrations._columns import AddColumn

from domain.companies.models import ContactRole, PaymentTerms

INDEXES = [("company_location", "company_id"), ("company_contact", "company_id")]


def _pk() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


def _company() -> fields.ForeignKeyField:
    return fields.ForeignKeyField("oms.Company", source_field="company_id", db_constraint=True,
                                  to_field="id", related_name="contacts",
                                  on_delete=OnDelete.CASCADE)


class Migration(migrations.Migration):
    dependencies = [("oms", "0034_discounts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Company",
            fields=[
                ("id", _pk()),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("name", fields.CharField(max_length=200)),
                ("tax_exempt", fields.BooleanField(default=False)),
                ("tax_number", fields.CharField(null=True, max_length=32)),
                ("payment_terms", fields.CharEnumField(
                    default=PaymentTerms.DUE_ON_RECEIPT,
                    description="DUE_ON_RECEIPT: DUE_ON_RECEIPT\nNET_15: NET_15\n"
                                "NET_30: NET_30\nNET_60: NET_60",
                    enum_type=PaymentTerms, max_length=16)),
                ("credit_limit", fields.DecimalField(null=True, max_digits=18,
                                                     decimal_places=4)),
                ("credit_currency", fields.CharField(null=True, max_length=3)),
                ("po_required", fields.BooleanField(default=False)),
                ("price_list_id", fields.IntField(null=True)),
                ("active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "company", "app": "oms", "pk_attr": "id",
                     "table_description": "A business that buys on account: its own prices, "
                                          "terms, credit limit and tax status."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CompanyContact",
            fields=[
                ("id", _pk()),
                ("company", _company()),
                ("customer", fields.OneToOneField(
                    "oms.Customer", source_field="customer_id", db_constraint=True,
                    to_field="id", related_name="company_contact",
                    on_delete=OnDelete.CASCADE)),
                ("role", fields.CharEnumField(null=True, description="BUYER: BUYER\nADMIN: ADMIN",
                                              enum_type=ContactRole, max_length=16)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "company_contact", "app": "oms", "pk_attr": "id",
                     "table_description": "A customer who buys for a company (a customer is "
                                          "a contact of one company at most)."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CompanyLocation",
            fields=[
                ("id", _pk()),
                ("company", fields.ForeignKeyField(
                    "oms.Company", source_field="company_id", db_constraint=True,
                    to_field="id", related_name="locations", on_delete=OnDelete.CASCADE)),
                ("name", fields.CharField(max_length=200)),
                ("address", fields.JSONField(
                    encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "company_location", "app": "oms", "pk_attr": "id",
                     "table_description": "A company's address (an office, a warehouse it "
                                          "receives at)."},
            bases=["Model"],
        ),
        AddColumn(table="draft_order", model_name="DraftOrder", name="company_id",
                     field=fields.IntField(null=True)),
        AddColumn(table="orders", model_name="Order", name="company_id",
                     field=fields.IntField(null=True, db_index=True)),
        AddColumn(table="orders", model_name="Order", name="payment_terms",
                     field=fields.CharField(null=True, max_length=16)),
        AddColumn(table="orders", model_name="Order", name="payment_due_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS idx_{table}_{column}" for table, column in INDEXES],
        ),
    ]
