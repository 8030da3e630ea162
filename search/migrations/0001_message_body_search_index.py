"""A GIN index over the messages' text as PostgreSQL's full-text search reads it.

The expression must stay exactly the one `search.fulltext.DOCUMENT` queries with, or the planner
cannot use the index (tests/search/test_fulltext.py checks with EXPLAIN). SQLite has no such index:
search there filters with LIKE (see the README), so the migration does nothing on it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS message_body_search "
    "ON messaging_message USING gin (to_tsvector('english'::regconfig, body))"
)
DROP = "DROP INDEX IF EXISTS message_body_search"


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False)]
