"""The audit log as CSV, streamed row by row (a log of any length, in constant memory).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and tab / carriage return, which
some treat the same) as a formula: such a cell gets a leading `'` so it is shown as text (OWASP's
advice against CSV injection). Usernames tried at a failed sign-in are chosen by strangers, so
every text cell is escaped, not only some columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from console.models import AuditEvent

HEADER = ["id", "at", "actor", "actor_name", "action", "target_type", "target_id", "detail", "ip"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line (csv.writer writes into it, we yield it)."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def audit_row(event: AuditEvent) -> list[str]:
    return [
        safe_cell(cell)
        for cell in (
            event.id,
            event.created_at.isoformat(),
            event.actor_id,
            event.actor_name,
            event.action,
            event.target_type,
            event.target_id,
            json.dumps(event.detail, ensure_ascii=False, sort_keys=True) if event.detail else "",
            event.ip,
        )
    ]


def audit_csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for event in events:
        yield writer.writerow(audit_row(event))
