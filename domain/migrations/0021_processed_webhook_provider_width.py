"""Marketplace deliveries are deduplicated under "<provider>:<channel code>", and channel
codes have up to 64 characters: the provider column is widened to hold the longest.

SQLite does not bound VARCHAR lengths, so only PostgreSQL's column changes (rebuilding
the SQLite table would drop its unique (provider, event_id) constraint)."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class WidenOnPostgres(ops.AlterField):
    async def database_forward(self, app_label: str, old_state: Any, new_state: Any,
                               state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "postgres":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "postgres":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("oms", "0020_signing_keys")]

    initial = False

    operations = [
        WidenOnPostgres(
            model_name="ProcessedWebhook",
            name="provider",
            field=fields.CharField(max_length=96),
        ),
    ]
