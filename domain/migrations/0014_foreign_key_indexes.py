"""Indexes on the foreign keys that orders, reports and returns look rows up by.

Plain CREATE INDEX statements: altering the key fields instead would rebuild
the tables on SQLite, and rebuilding a parent table there cascades deletes to
its children.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = [
    ("orders", "customer_id"),
    ("order_line", "order_id"),
    ("allocation", "order_line_id"),
    ("shipment", "order_id"),
    ("shipment_line", "shipment_id"),
    ("shipment_line", "order_line_id"),
    ("stock_movement", "stock_level_id"),
    ("order_return", "order_id"),
    ("return_line", "rma_id"),
    ("return_line", "order_line_id"),
]


class Migration(migrations.Migration):
    dependencies = [("oms", "0013_payment_call_lease")]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS idx_{table}_{column}"
                         for table, column in INDEXES],
        ),
    ]
