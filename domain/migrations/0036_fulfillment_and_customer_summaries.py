"""Summaries for the fulfilment report and the customers list, and their notes.

``parcel_time`` holds each parcel's hours to ship and to deliver, ``parcel_month``
how many parcels took each whole hour begun per UTC month, ``fulfillment_day`` the
orders by status and reason per UTC day, ``customer_summary`` and ``customer_value``
each customer's order count, last order and lifetime value. All are rebuilt by
``domain.reports.summaries.refresh`` from the quarter hours noted in
``summary_dirty``: every note in ``report_dirty`` (for the sales summaries) is
copied there by a trigger, and triggers here note what the sales summaries are
not made of (a parcel's
delivery and carrier, an order's hold and cancel reasons, customer and total; an
order moved to another customer notes the customer it left). Orders already
placed are noted here, so the first refresh builds their summaries.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

PG_SLOT = "date_bin('15 minutes', {}.created_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
SQLITE_SLOT = ("strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', {}.created_at) AS INTEGER)"
               " / 900 * 900, 'unixepoch') || '+00:00'")
COLUMNS = {
    "orders": ["hold_reason", "cancel_reason", "customer_id", "total"],
    "shipment": ["delivered_at", "carrier"],
}
INDEXES = [
    ("idx_parcel_time_placed", "parcel_time", "placed_at"),
    ("idx_parcel_time_order", "parcel_time", "order_id"),
    ("idx_parcel_time_ship", "parcel_time", "location_id, carrier, ship_hours, placed_at"),
    ("idx_parcel_time_deliver", "parcel_time", "location_id, carrier, deliver_hours, placed_at"),
    ("idx_parcel_month_month", "parcel_month", "month"),
    ("idx_fulfillment_day_day", "fulfillment_day", "day"),
    ("idx_customer_summary_count", "customer_summary", "order_count, customer_id"),
    ("idx_customer_summary_last", "customer_summary", "last_order_at, customer_id"),
    ("idx_customer_value_sort", "customer_value", "currency, value, customer_id"),
    ("idx_customer_value_customer", "customer_value", "customer_id"),
]


def _pg(table: str) -> str:
    order = "" if table == "orders" else "JOIN orders o ON o.id = r.order_id"
    slot = PG_SLOT.format("r" if table == "orders" else "o")
    mine = ", ".join(f"r.{c}" for c in COLUMNS[table])
    theirs = ", ".join(f"p.{c}" for c in COLUMNS[table])
    left = ("INSERT INTO summary_dirty (customer_id) SELECT DISTINCT p.customer_id"
            " FROM old_rows p JOIN new_rows r ON r.id = p.id WHERE p.customer_id IS NOT NULL"
            " AND p.customer_id IS DISTINCT FROM r.customer_id;" if table == "orders" else "")
    function = f"oms_note_summaries_{table}"
    return f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO summary_dirty (slot) SELECT DISTINCT {slot}
            FROM new_rows r JOIN old_rows p ON p.id = r.id {order}
            WHERE ({mine}) IS DISTINCT FROM ({theirs});
            {left}
            RETURN NULL;
        END $$;
        CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    """


def _sqlite(table: str) -> str:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS[table])
    if table == "orders":
        note = (f"INSERT INTO summary_dirty (slot) VALUES ({SQLITE_SLOT.format('NEW')});"
                " INSERT INTO summary_dirty (customer_id) SELECT OLD.customer_id"
                " WHERE OLD.customer_id IS NOT NULL AND OLD.customer_id IS NOT NEW.customer_id;")
    else:
        note = (f"INSERT INTO summary_dirty (slot) SELECT {SQLITE_SLOT.format('o')}"
                " FROM orders o WHERE o.id = NEW.order_id;")
    return (f"CREATE TRIGGER oms_note_summaries_{table}_update AFTER UPDATE OF"
            f" {', '.join(COLUMNS[table])} ON {table} FOR EACH ROW WHEN {changed}"
            f" BEGIN {note} END;\n")


# Every note for the sales summaries is one for these too, in the same transaction.
PG_COPY = """
    CREATE OR REPLACE FUNCTION oms_note_summaries_report_dirty() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO summary_dirty (slot) SELECT DISTINCT slot FROM new_rows;
        RETURN NULL;
    END $$;
    CREATE TRIGGER oms_note_summaries_report_dirty_insert AFTER INSERT ON report_dirty
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION oms_note_summaries_report_dirty();
"""
SQLITE_COPY = """
    CREATE TRIGGER oms_note_summaries_report_dirty_insert AFTER INSERT ON report_dirty
    FOR EACH ROW BEGIN INSERT INTO summary_dirty (slot) VALUES (NEW.slot); END;
"""


async def create_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    for table in COLUMNS:
        await client.execute_script(_pg(table) if pg else _sqlite(table))
    await client.execute_script(PG_COPY if pg else SQLITE_COPY)
    slot = (PG_SLOT if pg else SQLITE_SLOT).format("orders")
    await client.execute_script(
        f"INSERT INTO summary_dirty (slot) SELECT DISTINCT {slot} FROM orders")


async def drop_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    for table in COLUMNS:
        await client.execute_script(f"DROP FUNCTION oms_note_summaries_{table}() CASCADE" if pg
                                    else f"DROP TRIGGER oms_note_summaries_{table}_update")
    await client.execute_script("DROP FUNCTION oms_note_summaries_report_dirty() CASCADE" if pg
                                else "DROP TRIGGER oms_note_summaries_report_dirty_insert")


def _pk(big: bool = True) -> Any:
    kind = fields.BigIntField if big else fields.IntField
    return kind(generated=True, primary_key=True, unique=True, db_index=True)


class Migration(migrations.Migration):
    dependencies = [("oms", "0035_b2b")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SummaryDirty",
            fields=[
                ("id", _pk()),
                ("slot", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("customer_id", fields.IntField(null=True)),
            ],
            options={"table": "summary_dirty", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ParcelTime",
            fields=[
                ("id", fields.IntField(generated=False, primary_key=True, unique=True,
                                       db_index=True)),
                ("order_id", fields.IntField()),
                ("placed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("channel_id", fields.IntField()),
                ("location_id", fields.IntField()),
                ("carrier", fields.CharField(max_length=64)),
                ("live", fields.BooleanField()),
                ("ship_tenths", fields.IntField(null=True)),
                ("ship_hours", fields.IntField(null=True)),
                ("deliver_tenths", fields.IntField(null=True)),
                ("deliver_hours", fields.IntField(null=True)),
            ],
            options={"table": "parcel_time", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ParcelMonth",
            fields=[
                ("id", _pk()),
                ("month", fields.DateField()),
                ("channel_id", fields.IntField()),
                ("location_id", fields.IntField()),
                ("carrier", fields.CharField(max_length=64)),
                ("kind", fields.SmallIntField()),
                ("hours", fields.IntField()),
                ("parcels", fields.IntField()),
            ],
            options={"table": "parcel_month", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="FulfillmentDay",
            fields=[
                ("id", _pk()),
                ("day", fields.DateField()),
                ("channel_id", fields.IntField()),
                ("status", fields.CharField(max_length=24)),
                ("reason", fields.CharField(null=True, max_length=500)),
                ("orders", fields.IntField()),
                ("split", fields.IntField()),
            ],
            options={"table": "fulfillment_day", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CustomerSummary",
            fields=[
                ("customer_id", fields.IntField(generated=False, primary_key=True, unique=True,
                                                db_index=True)),
                ("order_count", fields.IntField()),
                ("last_order_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "customer_summary", "app": "oms", "pk_attr": "customer_id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CustomerValue",
            fields=[
                ("id", _pk()),
                ("customer_id", fields.IntField()),
                ("currency", fields.CharField(max_length=3)),
                ("value", fields.BigIntField()),
            ],
            options={"table": "customer_value", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunPython(create_triggers, drop_triggers),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"
             for name, table, columns in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name, _, _ in INDEXES],
        ),
    ]
