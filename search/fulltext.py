"""PostgreSQL full-text search over messages.

The document is `to_tsvector('english', body)`, the exact expression of the GIN index the migration
search/0001 creates: a query written any other way (another config, a COALESCE around `body`)
would not use it. The 'english' configuration stems words ("meetings" finds "meeting") and leaves
out stop words ("the", "and": a query of stop words only finds no message). The query is
`websearch_to_tsquery('english', q)`: the search box's syntax (quotes, -word, or).

Ranking reads each candidate's text again (`ts_rank` needs its tsvector, which the index does not
hold), so it is bounded: the newest RANK_WINDOW (500) matches are ranked by relevance, then recency. A
word found in more messages than that ranks among the recent ones, which is what a chat's search
is asked for; a rarer word ranks all its matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q

from messaging.models import Message
from search import snippets

CONFIG = "english"
DOCUMENT = "to_tsvector('english'::regconfig, {table}.body)"
QUERY = "websearch_to_tsquery('english'::regconfig, %s)"
RANK_WINDOW = 500

# ts_headline: a piece of about 12 to 30 words around the best match. The body is given with the
# sentinel characters removed and `<`, `>`, `&` swapped for stand-ins (snippets.from_headline).
_HEADLINE_OPTIONS = f"StartSel={snippets.START}, StopSel={snippets.STOP}, MinWords=12, MaxWords=30, ShortWord=2"
_FROM = "<>&" + snippets.RESERVED
_TO = "".join(snippets.STAND_INS.values())


@dataclass(frozen=True)
class Scope:
    """Which messages a search may find (before any text matches): people's messages, not deleted,
    in these conversations (system messages, "Alice joined", are not searched)."""

    conversation_ids: list[int]
    sender_id: int | None = None
    before: datetime | None = None
    after: datetime | None = None

    def as_filter(self) -> Q:
        found = Q(conversation_id__in=self.conversation_ids, deleted_at__isnull=True, kind=Message.Kind.USER)
        if self.sender_id is not None:
            found &= Q(sender_id=self.sender_id)
        if self.before is not None:
            found &= Q(created_at__lt=self.before)
        if self.after is not None:
            found &= Q(created_at__gt=self.after)
        return found

    def as_sql(self, table: str) -> tuple[str, list[Any]]:
        where = [f"{table}.conversation_id = ANY(%s::bigint[])", f"{table}.deleted_at IS NULL", f"{table}.kind = %s"]
        params: list[Any] = [self.conversation_ids, Message.Kind.USER.value]
        if self.sender_id is not None:
            where.append(f"{table}.sender_id = %s")
            params.append(self.sender_id)
        if self.before is not None:
            where.append(f"{table}.created_at < %s")
            params.append(self.before)
        if self.after is not None:
            where.append(f"{table}.created_at > %s")
            params.append(self.after)
        return " AND ".join(where), params


class Ranked(NamedTuple):
    id: int
    headline: str  # ts_headline's piece of the body, its matches between the sentinels


def ranked(q: str, scope: Scope, *, limit: int, window: int = RANK_WINDOW) -> list[Ranked]:
    """The best `limit` messages of `scope` matching `q`, best first, with their headlines (one query:
    PostgreSQL computes the headlines after the sort, for those `limit` rows only)."""
    where, params = scope.as_sql("m")
    sql = f"""
        SELECT hit.id, ts_headline('english'::regconfig, translate(hit.body, %s, %s), {QUERY}, %s)
        FROM (
            SELECT m.id, m.created_at, m.body FROM messaging_message m
            WHERE {DOCUMENT.format(table="m")} @@ {QUERY} AND {where}
            ORDER BY m.created_at DESC, m.id DESC
            LIMIT %s
        ) hit
        ORDER BY ts_rank({DOCUMENT.format(table="hit")}, {QUERY}) DESC, hit.created_at DESC, hit.id DESC
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [_FROM, _TO, q, _HEADLINE_OPTIONS, q, *params, window, q, limit])
        return [Ranked(*row) for row in cursor.fetchall()]


def ranked_ids(q: str, scope: Scope, *, limit: int, window: int = RANK_WINDOW) -> list[int]:
    return [hit.id for hit in ranked(q, scope, limit=limit, window=window)]


def explain(q: str) -> str:
    """PostgreSQL's plan for the text match alone (the tests check that it can read the index)."""
    with connection.cursor() as cursor:
        match = f"{DOCUMENT.format(table='m')} @@ {QUERY}"
        cursor.execute(f"EXPLAIN SELECT m.id FROM messaging_message m WHERE {match}", [q])
        return "\n".join(row[0] for row in cursor.fetchall())
