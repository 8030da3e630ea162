"""Thread the replies written before threads: each reply's `thread_root` is the first message up its
`reply_to` chain, and each root counts its replies that are not deleted."""

from collections import Counter

from django.db import migrations

CHUNK = 500


def fill(apps, schema_editor) -> None:
    Message = apps.get_model("messaging", "Message")
    parent_of = dict(Message.objects.filter(reply_to__isnull=False).values_list("id", "reply_to_id"))
    if not parent_of:
        return
    roots: dict[int, int] = {}

    def root_of(message_id: int) -> int:
        seen = []
        current = message_id
        while current in parent_of and current not in roots:
            seen.append(current)
            current = parent_of[current]
            if current in seen:  # a loop can only come from hand-edited rows: stop there
                break
        root = roots.get(current, current)
        for step in seen:
            roots[step] = root
        return root

    for message_id in parent_of:
        root_of(message_id)
    ids = sorted(parent_of)
    counts: Counter[int] = Counter()
    for start in range(0, len(ids), CHUNK):
        rows = list(Message.objects.filter(pk__in=ids[start : start + CHUNK]).only("pk", "thread_root", "deleted_at"))
        for row in rows:
            row.thread_root_id = roots[row.pk]
            if row.deleted_at is None:
                counts[row.thread_root_id] += 1
        Message.objects.bulk_update(rows, ["thread_root"])
    for root_id, count in counts.items():
        Message.objects.filter(pk=root_id).update(reply_count=count)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_message_thread")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
