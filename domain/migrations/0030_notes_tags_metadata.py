"""Tags and metadata on orders, customers and products; staff notes on customers;
indexes for finding orders.

Plain CREATE INDEX statements for the order search (an email, a line's SKU, a total
range): the columns exist already and need no rebuild.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.annotations.models import ObjectKind
from tortoise import fields
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index

INDEXES = {
    "idx_orders_email": "orders (email)",
    "idx_orders_total": "orders (total)",
    "idx_order_line_sku": "order_line (sku)",
    "idx_customer_note_customer_id": "customer_note (customer_id)",
}


class Migration(migrations.Migration):
    dependencies = [('oms', '0029_partial_cancellation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MetadataEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='ORDER: order\nCUSTOMER: customer\nPRODUCT: product', enum_type=ObjectKind, max_length=16)),
                ('object_id', fields.IntField()),
                ('private', fields.BooleanField()),
                ('key', fields.CharField(max_length=256)),
                ('value', fields.TextField(unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'metadata_entry', 'app': 'oms', 'unique_together': (('kind', 'object_id', 'private', 'key'),), 'pk_attr': 'id', 'table_description': "One key of an object's public or private metadata."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='ORDER: order\nCUSTOMER: customer\nPRODUCT: product', enum_type=ObjectKind, max_length=16)),
                ('object_id', fields.IntField()),
                ('tag', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tag', 'app': 'oms', 'unique_together': (('kind', 'object_id', 'tag'),), 'indexes': [Index(fields=['kind', 'tag', 'object_id'])], 'pk_attr': 'id', 'table_description': 'One tag of one object. Tags are stored normalised (trimmed, inner spaces collapsed,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerNote',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('oms.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('message', fields.TextField(unique=False)),
                ('actor', fields.CharField(null=True, max_length=200)),
                ('actor_staff_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_note', 'app': 'oms', 'pk_attr': 'id', 'table_description': "A staff note on a customer: the shop's own, never shown to the customer."},
            bases=['Model'],
        ),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {spec}" for name, spec in INDEXES.items()],
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        ),
    ]
