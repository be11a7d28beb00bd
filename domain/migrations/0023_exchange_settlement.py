"""An exchange settles the difference: ``orders.exchange_credit`` records what the returned
goods pay of a replacement order, so the money due (and its payment status) is the
total less that credit. Replacements of exchanges refunded before this migration get
the credit their returns recorded (their ``EXCHANGE`` allocations)."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class AddCredit(ops.AddField):
    """Added with a default in the database, so existing orders get 0 (the generic
    addition gives a decimal none, which SQLite refuses for a NOT NULL column). Dropped
    in place on SQLite: rebuilding the table, as the generic removal does, fails on the
    triggers of the tables that refer to orders."""

    async def database_forward(self, app_label: str, old_state: Any, new_state: Any,
                               state_editor: Any = None) -> None:
        if state_editor:
            sqlite = state_editor.client.capabilities.dialect == "sqlite"
            kind = "VARCHAR(40) NOT NULL DEFAULT '0'" if sqlite else \
                "DECIMAL(18,4) NOT NULL DEFAULT 0"  # as Tortoise stores decimals on each
            await state_editor.client.execute_script(
                f"ALTER TABLE orders ADD COLUMN {self.name} {kind}")

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "sqlite":
            await state_editor.client.execute_script(
                f"ALTER TABLE orders DROP COLUMN {self.name}")
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("oms", "0022_refund_allocations")]

    initial = False

    operations = [
        AddCredit(
            model_name="Order",
            name="exchange_credit",
            field=fields.DecimalField(max_digits=18, decimal_places=4, default=0),
        ),
        ops.RunSQL(
            ["UPDATE orders SET exchange_credit = (SELECT COALESCE(SUM(ra.amount), 0)"
             " FROM refund_allocation ra JOIN order_return r ON r.id = ra.return_id"
             " WHERE ra.kind = 'EXCHANGE' AND r.replacement_order_id = orders.id)"
             " WHERE replaces_order_id IS NOT NULL"],
            reverse_sql="SELECT 1",
        ),
    ]
