"""Refunds charged to what they refund, and exchanges linked to the order they replace.

``refund_allocation`` holds each refund's (and each exchange credit's) amounts per
order line and for shipping; ``orders.replaces_order_id`` links an exchange's
replacement order to the original. The sales summaries are made of both, so
triggers note the quarter hour of the order they touch in ``report_dirty`` (as
migration 0015 does for the other tables): on allocations, on refund operations
(a refund counts once its operation has succeeded), and on the orders' new
column. Refunds made before this migration are allocated here by the same rules
(``domain.payments.allocation``), and every order is noted so the next refresh
rebuilds the summaries from the allocations.
"""

import importlib
from decimal import Decimal
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from domain.payments.models import AllocationKind

PG_PATHS = {
    "refund_allocation": "JOIN orders o ON o.id = r.order_id",
    "payment_operation": "JOIN payment pay ON pay.id = r.payment_id"
                         " JOIN orders o ON o.id = pay.order_id",
    "orders": "",
}
SQLITE_PATHS = {
    "refund_allocation": "FROM orders o WHERE o.id = r.order_id",
    "payment_operation": "FROM payment pay JOIN orders o ON o.id = pay.order_id"
                         " WHERE pay.id = r.payment_id",
    "orders": "",
}
COLUMNS = {
    "refund_allocation": "order_id, order_line_id, payment_operation_id, kind, amount",
    "payment_operation": "payment_id, kind, status, amount",
    "orders": "status, created_at, channel_id, currency, subtotal, replaces_order_id",
}
PG_SLOT = "date_bin('15 minutes', {}.created_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
SQLITE_SLOT = ("strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', {}.created_at) AS INTEGER)"
               " / 900 * 900, 'unixepoch') || '+00:00'")


def _pg(table: str) -> str:
    slot = PG_SLOT.format("r" if table == "orders" else "o")

    def note(rows: str) -> str:
        return (f"INSERT INTO report_dirty (slot) SELECT DISTINCT {slot} FROM {rows} r"
                f" {PG_PATHS[table]};")

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


async def _drop(client: Any, table: str, pg: bool) -> None:
    if pg:
        await client.execute_script(f"DROP FUNCTION oms_note_sales_{table}() CASCADE")
    else:
        await client.execute_script("".join(
            f"DROP TRIGGER oms_note_sales_{table}_{op};" for op in ("insert", "update", "delete")))


async def _backfill(client: Any, pg: bool) -> None:
    """Allocate the refunds and exchange credits made before allocations were recorded."""
    from domain.money import CURRENCY_EXPONENTS
    from domain.errors import AlreadyRefunded
    from domain.payments.allocation import SHIPPING, down, split

    def rows(sql: str, params: list[Any]) -> Any:
        if pg:
            for i in range(sql.count("?")):
                sql = sql.replace("?", f"${i + 1}", 1)
        return client.execute_query_dict(sql, params)

    await client.execute_script(
        "UPDATE orders SET replaces_order_id = (SELECT MIN(r.order_id) FROM order_return r"
        " WHERE r.replacement_order_id = orders.id) WHERE id IN"
        " (SELECT replacement_order_id FROM order_return WHERE replacement_order_id IS NOT NULL)")
    refunds = await rows("SELECT po.id AS id, po.amount AS amount, po.return_id AS return_id,"
                         " pay.order_id AS order_id FROM payment_operation po"
                         " JOIN payment pay ON pay.id = po.payment_id"
                         " WHERE po.kind = 'REFUND' AND po.status <> 'FAILED' ORDER BY po.id", [])
    exchanges = await rows("SELECT r.id AS return_id, r.order_id AS order_id,"
                           " r.replacement_order_id AS replacement_id FROM order_return r"
                           " WHERE r.status = 'REFUNDED' AND r.replacement_order_id IS NOT NULL",
                           [])
    todo = [(int(x["order_id"]), int(x["return_id"]), None, x["replacement_id"])
            for x in exchanges]
    todo += [(int(r["order_id"]), r["return_id"], r, None) for r in refunds]
    left: dict[int, dict[Any, Decimal]] = {}
    for order_id, return_id, refund, replacement_id in todo:
        order = (await rows("SELECT currency, shipping_total FROM orders WHERE id = ?",
                            [order_id]))[0]
        currency = str(order["currency"])
        if currency not in CURRENCY_EXPONENTS:
            continue
        lines = await rows("SELECT id, total, quantity FROM order_line WHERE order_id = ?"
                           " ORDER BY position, id", [order_id])
        remaining = left.setdefault(order_id, {
            **{int(ln["id"]): down(Decimal(str(ln["total"])), currency) for ln in lines},
            SHIPPING: down(Decimal(str(order["shipping_total"])), currency)})
        parts = list(remaining.items())
        if return_id is not None:
            returned = await rows("SELECT rl.order_line_id AS line_id, rl.quantity_received AS"
                                  " received, r.refund_shipping AS shipping FROM return_line rl"
                                  " JOIN order_return r ON r.id = rl.rma_id WHERE r.id = ?",
                                  [int(return_id)])
            quantity = {int(ln["id"]): int(ln["quantity"]) for ln in lines}
            paid = {int(ln["id"]): Decimal(str(ln["total"])) for ln in lines}
            caps: dict[Any, Decimal] = {
                int(x["line_id"]): down(paid[int(x["line_id"])] * int(x["received"])
                                        / quantity[int(x["line_id"])], currency)
                for x in returned if int(x["received"] or 0)}
            if returned and returned[0]["shipping"] in (True, 1):
                caps[SHIPPING] = remaining[SHIPPING]
            parts = [(part, min(cap, caps[part])) for part, cap in parts if part in caps]
        if refund is None:
            replacement = (await rows("SELECT total FROM orders WHERE id = ?",
                                      [int(replacement_id)]))[0]
            amount = min(sum((cap for _, cap in parts), Decimal(0)),
                         down(Decimal(str(replacement["total"])), currency))
            kind, operation_id = "EXCHANGE", None
        else:
            amount, kind, operation_id = Decimal(str(refund["amount"])), "REFUND", refund["id"]
        try:
            shares = split(amount, parts, currency)
        except AlreadyRefunded:  # more than the return's lines: charged to the whole order
            try:
                shares = split(amount, list(remaining.items()), currency)
            except AlreadyRefunded:
                continue  # more than the order: a refund this order cannot explain
        for share in shares:
            remaining[share.part] -= share.amount
            await rows("INSERT INTO refund_allocation (order_id, order_line_id,"
                       " payment_operation_id, return_id, kind, amount, created_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
                       [order_id, share.part, operation_id,
                        int(return_id) if return_id is not None else None, kind,
                        share.amount if pg else str(share.amount)])


async def create_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    await _drop(client, "orders", pg)
    for table in PG_PATHS:
        await client.execute_script(_pg(table) if pg else _sqlite(table))
    await _backfill(client, pg)
    slot = (PG_SLOT if pg else SQLITE_SLOT).format("orders")
    await client.execute_script(
        f"INSERT INTO report_dirty (slot) SELECT DISTINCT {slot} FROM orders")


async def drop_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    for table in PG_PATHS:
        await _drop(client, table, pg)
    before = importlib.import_module("domain.migrations.0015_sales_summaries")
    await client.execute_script(before._pg("orders") if pg else before._sqlite("orders"))


class AddLink(ops.AddField):
    """The column is dropped in place on SQLite: rebuilding the table, as the generic
    removal does, fails on the triggers of the tables that refer to orders."""

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "sqlite":
            await state_editor.client.execute_script(
                f"ALTER TABLE orders DROP COLUMN {self.name}")
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("oms", "0021_processed_webhook_provider_width")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RefundAllocation",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True,
                                       db_index=True)),
                ("order_id", fields.IntField(db_index=True)),
                ("order_line_id", fields.IntField(null=True, db_index=True)),
                ("payment_operation_id", fields.IntField(null=True, db_index=True)),
                ("return_id", fields.IntField(null=True, db_index=True)),
                ("kind", fields.CharEnumField(AllocationKind, default=AllocationKind.REFUND,
                                              max_length=16)),
                ("amount", fields.DecimalField(max_digits=18, decimal_places=4)),
                ("units", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "refund_allocation", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        AddLink(
            model_name="Order",
            name="replaces_order_id",
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.RunPython(create_triggers, drop_triggers),
        ops.RunSQL(
            ["CREATE INDEX IF NOT EXISTS idx_orders_replaces_order ON orders (replaces_order_id)"],
            reverse_sql=["DROP INDEX IF EXISTS idx_orders_replaces_order"],
        ),
    ]
