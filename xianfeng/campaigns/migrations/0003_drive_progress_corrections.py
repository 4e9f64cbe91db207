import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0002_vote_category_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="driveprogress",
            name="corrects",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="corrections",
                to="campaigns.driveprogress",
                verbose_name="更正的报告",
            ),
        ),
        migrations.AddField(
            model_name="driveprogress",
            name="reason",
            field=models.CharField(blank=True, max_length=300, verbose_name="更正原因"),
        ),
    ]
