"""Sales summaries for the sales report, and the triggers that keep them honest.

Every table a sale is made of (orders, their lines, reservations, parcels
and their lines, returns) notes the quarter hour of each order it touches in
``report_dirty``, on insert, delete, and updates of the columns a sale is
made of; the report rebuilds what was
noted before it reads. PostgreSQL notes once per statement (transition
tables), SQLite once per row. Orders already placed are noted here, so the
first refresh builds their summaries.

Also indexes for the reports' reads: the summaries by location scope and
time, and each stock row's ledger in time order (the inventory report walks
it newest first).
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# From a changed row (alias r) to its order (alias o).
PG_PATHS = {
    "orders": "",
    "order_line": "JOIN orders o ON o.id = r.order_id",
    "allocation": "JOIN order_line l ON l.id = r.order_line_id JOIN orders o ON o.id = l.order_id",
    "shipment": "JOIN orders o ON o.id = r.order_id",
    "shipment_line": "JOIN shipment s ON s.id = r.shipment_id JOIN orders o ON o.id = s.order_id",
    "order_return": "JOIN orders o ON o.id = r.order_id",
}
SQLITE_PATHS = {
    "orders": "",
    "order_line": "FROM orders o WHERE o.id = r.order_id",
    "allocation": "FROM order_line l JOIN orders o ON o.id = l.order_id WHERE l.id = r.order_line_id",
    "shipment": "FROM orders o WHERE o.id = r.order_id",
    "shipment_line": "FROM shipment s JOIN orders o ON o.id = s.order_id WHERE s.id = r.shipment_id",
    "order_return": "FROM orders o WHERE o.id = r.order_id",
}
# The columns a sale is made of: updates that change none of them note nothing.
COLUMNS = {
    "orders": "status, created_at, channel_id, currency, subtotal",
    "order_line": "order_id, sku, quantity, unit_price, total",
    "allocation": "order_line_id, location_id, quantity, released",
    "shipment": "order_id, location_id, status, shipped_at",
    "shipment_line": "shipment_id, order_line_id, quantity",
    "order_return": "order_id, status, refund_total",
}
INDEXES = [
    ("idx_sales_slot_scope", "sales_slot", "location_id, slot"),
    ("idx_sales_day_scope", "sales_day", "location_id, day"),
    ("idx_stock_movement_level_time", "stock_movement", "stock_level_id, created_at, id"),
]
PG_SLOT = "date_bin('15 minutes', {}.created_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
SQLITE_SLOT = ("strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', {}.created_at) AS INTEGER)"
               " / 900 * 900, 'unixepoch') || '+00:00'")


def _pg(table: str) -> str:
    slot = PG_SLOT.format("r" if table == "orders" else "o")

    def note(rows: str) -> str:
        return f"INSERT INTO report_dirty (slot) SELECT DISTINCT {slot} FROM {rows} r {PG_PATHS[table]};"

    def changed(rows: str, other: str) -> str:
        mine = ", ".join(f"r.{c}" for c in COLUMNS[table].split(", "))
        theirs = ", ".join(f"p.{c}" for c in COLUMNS[table].split(", "))
        return (f"SELECT {slot} FROM {rows} r JOIN {other} p ON p.id = r.id {PG_PATHS[table]}"
                f" WHERE ({mine}) IS DISTINCT FROM ({theirs})")

    function = f"oms_note_sales_{table}"
    return f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN {note("new_rows")}
            ELSIF TG_OP = 'DELETE' THEN {note("old_rows")}
            ELSE INSERT INTO report_dirty (slot) SELECT DISTINCT slot FROM (
                {changed("new_rows", "old_rows")} UNION {changed("old_rows", "new_rows")}
            ) noted (slot);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER {function}_insert AFTER INSERT ON {table}
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        CREATE TRIGGER {function}_delete AFTER DELETE ON {table}
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    """


def _sqlite(table: str) -> str:
    def note(row: str) -> str:
        if table == "orders":
            return f"INSERT INTO report_dirty (slot) VALUES ({SQLITE_SLOT.format(row)});"
        path = SQLITE_PATHS[table].replace("r.", f"{row}.")
        return f"INSERT INTO report_dirty (slot) SELECT {SQLITE_SLOT.format('o')} {path};"

    rows = {"INSERT": ["NEW"], "UPDATE": ["NEW", "OLD"], "DELETE": ["OLD"]}
    return "".join(
        f"CREATE TRIGGER oms_note_sales_{table}_{op.lower()} AFTER"
        f" {'UPDATE OF ' + COLUMNS[table] if op == 'UPDATE' else op} ON {table}"
        f" FOR EACH ROW BEGIN {' '.join(note(row) for row in rows[op])} END;\n"
        for op in rows)


async def create_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    for table in PG_PATHS:
        await client.execute_script(_pg(table) if pg else _sqlite(table))
    slot = (PG_SLOT if pg else SQLITE_SLOT).format("orders")
    await client.execute_script(
        f"INSERT INTO report_dirty (slot) SELECT DISTINCT {slot} FROM orders")


async def drop_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    for table in PG_PATHS:
        if pg:
            await client.execute_script(f"DROP FUNCTION oms_note_sales_{table}() CASCADE")
        else:
            await client.execute_script("".join(
                f"DROP TRIGGER oms_note_sales_{table}_{op};" for op in ("insert", "update",
                                                                          "delete")))


class Migration(migrations.Migration):
    dependencies = [('oms', '0014_foreign_key_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReportDirty',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_dirty', 'app': 'oms', 'pk_attr': 'id', 'table_description': 'A quarter hour whose orders changed since the summaries were last brought up to date.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SalesDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(db_index=True)),
                ('channel_id', fields.IntField()),
                ('currency', fields.CharField(max_length=3)),
                ('sku', fields.CharField(max_length=64)),
                ('location_id', fields.IntField()),
                ('orders', fields.IntField()),
                ('units', fields.IntField()),
                ('gross', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('refunds', fields.DecimalField(max_digits=28, decimal_places=10)),
            ],
            options={'table': 'sales_day', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SalesSlot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('channel_id', fields.IntField()),
                ('currency', fields.CharField(max_length=3)),
                ('location_id', fields.IntField()),
                ('orders', fields.IntField()),
                ('units', fields.IntField()),
                ('gross', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('refunds', fields.DecimalField(max_digits=28, decimal_places=10)),
            ],
            options={'table': 'sales_slot', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(create_triggers, drop_triggers),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"
             for name, table, columns in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name, _, _ in INDEXES],
        ),
    ]
