from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_fill_message_body_html")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="mentions",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
