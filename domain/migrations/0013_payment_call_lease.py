from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0012_marketplace_fulfillments')]

    initial = False

    operations = [
        ops.AddField(
            model_name='PaymentOperation',
            name='calling_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
