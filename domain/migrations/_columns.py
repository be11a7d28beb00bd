"""Migration operations shared by several migrations (the loader skips ``_`` modules)."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class AddColumn(ops.AddField):
    """``AddField`` rolled back in place on SQLite (``ALTER TABLE ... DROP COLUMN``): the
    generic removal rebuilds the table, which fails on the triggers and rows of other
    tables that refer to it."""

    def __init__(self, *, table: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "sqlite":
            await state_editor.client.execute_script(
                f"ALTER TABLE {self.table} DROP COLUMN {self.name}")
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)
