"""The signing keys every process shares, so that a token from one process (or host)
verifies on all of them. The table holds private keys: grant it to the app's role only."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("oms", "0019_webhook_delivery_per_outbox_row")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SigningKey",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("kid", fields.CharField(unique=True, max_length=64)),
                ("jwk", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")),
                                         decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "signing_key", "app": "oms", "pk_attr": "id",
                     "table_description": "Private keys that sign access tokens, the newest signing."},
            bases=["Model"],
        ),
    ]
