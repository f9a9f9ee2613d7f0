"""Whether a server API logged an API event's name: automatic tables go to those names first.

Names cataloged before this get None (not known), not False: reading every raw event here would
hold up the upgrade, so each environment's next sync reads all history once instead (as it did
when the catalog came) and sets them (warehouse/apievents/services.py, api_events_discover).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('warehouse', '0020_raw_merges_env_to'),
    ]

    operations = [
        migrations.AddField(
            model_name='apievent',
            name='from_server',
            field=models.BooleanField(null=True),
        ),
        migrations.AddIndex(
            model_name='apievent',
            index=models.Index(models.F('environment'), models.OrderBy(models.F('from_server'), descending=True, nulls_last=True), models.OrderBy(models.F('first_seen_id')), name='api_event_env_automatic'),
        ),
    ]
