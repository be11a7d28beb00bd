"""The database's own id (Redis key prefixes), and when a customer's sessions were revoked."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("oms", "0017_email_verification")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Deployment",
            fields=[
                ("id", fields.IntField(primary_key=True, unique=True, db_index=True)),
                ("key", fields.CharField(max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "deployment", "app": "oms", "pk_attr": "id",
                     "table_description": "One row: the id the first process to start on "
                                          "this database chose."},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Customer",
            name="sessions_revoked_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
