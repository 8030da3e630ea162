import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_message_mentions")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="thread_root",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="thread_replies",
                to="messaging.message",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="reply_count",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
