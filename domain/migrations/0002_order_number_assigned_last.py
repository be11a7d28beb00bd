from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Order',
            name='number',
            field=fields.CharField(null=True, unique=True, max_length=32),
        ),
    ]
