"""Risk screening and kinds of hold.

``orders`` gains the hold's kind (manual, risk, stock, fulfilment), the risk assessment
made at placement (score and reasons) and the keys its velocity rules count orders by
(client IP address, card fingerprint, a digest of the shipping address), indexed with the
creation time; ``risk_settings`` holds the merchant's changes to the risk settings.
Orders already on hold are marked as manual holds, or stock holds where capture wrote its
shortfall reason.
"""

import importlib

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from domain.orders.models import HoldKind

AddLink = importlib.import_module("domain.migrations.0022_refund_allocations").AddLink

INDEXES = {
    "idx_orders_email_recent": "orders (lower(email), created_at)",
    "idx_orders_client_ip_recent": "orders (client_ip, created_at)",
    "idx_orders_card_recent": "orders (card_fingerprint, created_at)",
    "idx_orders_address_recent": "orders (address_key, created_at)",
}


class Migration(migrations.Migration):
    dependencies = [("oms", "0024_notifications")]

    initial = False

    operations = [
        AddLink(model_name="Order", name="hold_kind",
                field=fields.CharEnumField(HoldKind, max_length=16, null=True)),
        AddLink(model_name="Order", name="risk_score", field=fields.IntField(null=True)),
        AddLink(model_name="Order", name="risk_reasons", field=fields.JSONField(null=True)),
        AddLink(model_name="Order", name="client_ip",
                field=fields.CharField(max_length=64, null=True)),
        AddLink(model_name="Order", name="card_fingerprint",
                field=fields.CharField(max_length=128, null=True)),
        AddLink(model_name="Order", name="address_key",
                field=fields.CharField(max_length=40, null=True)),
        ops.CreateModel(
            name="RiskSettingsRow",
            fields=[
                ("id", fields.IntField(primary_key=True)),
                ("config", fields.JSONField(default=dict)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "risk_settings", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {spec}" for name, spec in INDEXES.items()]
            + ["UPDATE orders SET hold_kind = CASE WHEN hold_reason LIKE 'Not enough stock:%' "
               "THEN 'STOCK' ELSE 'MANUAL' END WHERE status = 'ON_HOLD'"],
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        ),
    ]
