"""Render `body_html` for the messages written before it existed (tombstones keep it empty). Mentions
are not resolved here: an old `@name` stays plain text."""

from django.db import migrations

CHUNK = 500


def fill(apps, schema_editor) -> None:
    from messaging.text import render

    Message = apps.get_model("messaging", "Message")
    pending = Message.objects.filter(deleted_at__isnull=True, body_html="").exclude(body="").order_by("pk")
    last = 0
    while True:
        rows = list(pending.filter(pk__gt=last).only("pk", "body")[:CHUNK])
        if not rows:
            return
        for row in rows:
            row.body_html = render(row.body)
        Message.objects.bulk_update(rows, ["body_html"])
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_message_body_html")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
