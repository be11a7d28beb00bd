"""Registrations that wait for their owner to prove the email address."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("oms", "0016_inflow_index")]

    initial = False

    operations = [
        ops.CreateModel(
            name="EmailVerification",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("email", fields.CharField(max_length=254, db_index=True)),
                ("digest", fields.CharField(unique=True, max_length=64)),
                ("password_hash", fields.CharField(max_length=200)),
                ("name", fields.CharField(null=True, max_length=200)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "email_verification", "app": "oms", "pk_attr": "id",
                     "table_description": "A registration waiting for its owner to prove the address."},
            bases=["Model"],
        ),
    ]
