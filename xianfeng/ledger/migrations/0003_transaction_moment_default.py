# A transaction's moment defaults to now instead of being forced to now (auto_now_add), so postings entered afterwards
# can carry the day they happened. The column is unchanged: state only, no table rebuild on SQLite.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_postgres_guards'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='transaction',
                name='created_at',
                field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False,
                                           verbose_name='时间'),
            ),
        ]),
    ]
