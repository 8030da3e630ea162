from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_initial")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="body_html",
            field=models.TextField(blank=True, default=""),
        ),
    ]
