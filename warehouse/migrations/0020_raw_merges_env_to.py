"""An index on who was merged into a user: the user timeline, the raw list's user filter and the people
list look merges up by to_user_id, which read all of an environment's merges (60 ms at 20M events,
257,736 merges) without it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('warehouse', '0018_sync_new_data'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='identitymerge',
            index=models.Index(fields=['environment', 'to_user_id'], name='raw_merges_env_to'),
        ),
    ]
