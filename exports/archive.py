"""What goes into an export's zip, written file by file and row by row: every JSON file is a list
streamed from a database iterator in chunks, so a company with millions of messages never sits in
memory at once. Attachments appear as their metadata only (name, size, type), never their bytes.

A company export holds company.json, people.json, spaces.json, conversations.json and messages.json;
a person's own export ("mine") holds company.json, people.json (only them), conversations.json (the
ones their messages are in) and messages.json (only the messages they sent)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from django.db.models import Prefetch, QuerySet

from messaging.models import Attachment, Conversation, Message, Participant
from spaces.models import Space
from virtual_office.models import Company, User

CHUNK_ROWS = 500

# Told the number of rows written so far, after every chunk (the build's progress and heartbeat).
Progress = Callable[[int], None]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def company_row(company: Company) -> dict[str, Any]:
    return {"id": company.id, "name": company.name, "slug": company.slug, "created_at": _when(company.created_at)}


def person_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "title": user.title,
        "is_active": user.is_active,
        "is_company_admin": user.is_company_admin,
        "date_joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
    }


def space_row(space: Space) -> dict[str, Any]:
    return {
        "id": space.id,
        "name": space.name,
        "kind": space.kind,
        "capacity": space.capacity,
        "status": space.status,
        "is_private": space.is_private,
        "x": space.x,
        "y": space.y,
        "w": space.w,
        "h": space.h,
        "created_at": _when(space.created_at),
    }


def conversation_row(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "kind": conversation.kind,
        "title": conversation.title,
        "space": conversation.space_id,
        "created_by": conversation.created_by_id,
        "created_at": _when(conversation.created_at),
        "participants": [p.user_id for p in conversation.participants.all()],
    }


def message_row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "kind": message.kind,
        "sender": message.sender_id,
        "body": message.body,
        "reply_to": message.reply_to_id,
        "thread_root": message.thread_root_id,
        "created_at": _when(message.created_at),
        "edited_at": _when(message.edited_at),
        "deleted_at": _when(message.deleted_at),
        "attachments": [
            {
                "id": a.id,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "created_at": _when(a.created_at),
            }
            for a in message.attachments.all()
        ],
    }


def people_of(company_id: int) -> QuerySet[User]:
    return User.objects.filter(company_id=company_id).order_by("id")


def spaces_of(company_id: int) -> QuerySet[Space]:
    return Space.objects.filter(company_id=company_id).order_by("id")


_participant_ids = Participant.objects.only("id", "conversation_id", "user_id")


def conversations_of(company_id: int) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(company_id=company_id)
        .prefetch_related(Prefetch("participants", queryset=_participant_ids))
        .order_by("id")
    )


def messages_of(company_id: int) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation__company_id=company_id)
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("id")
    )


def messages_sent_by(user: User) -> QuerySet[Message]:
    return messages_of(user.company_id or 0).filter(sender_id=user.id)


def conversations_of_messages_by(user: User) -> QuerySet[Conversation]:
    # Only the conversation's own fields: its participants are other people's data.
    return (
        Conversation.objects.filter(company_id=user.company_id or 0, messages__sender_id=user.id)
        .distinct()
        .prefetch_related(Prefetch("participants", queryset=Participant.objects.filter(user_id=user.id)))
        .order_by("id")
    )


class ZipWriter:
    """A zip being written: each `json_list` adds one file from rows given one by one."""

    def __init__(self, target: IO[bytes], progress: Progress) -> None:
        self.zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)
        self.progress = progress
        self.rows_written = 0

    def json_object(self, name: str, row: dict[str, Any]) -> None:
        self.zip.writestr(name, json.dumps(row, ensure_ascii=False, indent=1))
        self.rows_written += 1
        self.progress(self.rows_written)

    def json_list(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        with self.zip.open(name, "w", force_zip64=True) as out:
            out.write(b"[")
            chunk: list[str] = []
            first = True
            for row in rows:
                chunk.append(json.dumps(row, ensure_ascii=False))
                if len(chunk) >= CHUNK_ROWS:
                    out.write(self._joined(chunk, first))
                    first = False
                    self.rows_written += len(chunk)
                    chunk = []
                    self.progress(self.rows_written)
            if chunk:
                out.write(self._joined(chunk, first))
                self.rows_written += len(chunk)
                self.progress(self.rows_written)
            out.write(b"\n]\n")

    @staticmethod
    def _joined(chunk: list[str], first: bool) -> bytes:
        return (("\n" if first else ",\n") + ",\n".join(chunk)).encode()

    def close(self) -> None:
        self.zip.close()


def _rows(queryset: QuerySet[Any], row: Callable[[Any], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in queryset.iterator(chunk_size=CHUNK_ROWS):
        yield row(item)


def company_total(company_id: int) -> int:
    """How many rows a company export writes (for its progress)."""
    return (
        1
        + people_of(company_id).count()
        + spaces_of(company_id).count()
        + Conversation.objects.filter(company_id=company_id).count()
        + Message.objects.filter(conversation__company_id=company_id).count()
    )


def mine_total(user: User) -> int:
    return 2 + conversations_of_messages_by(user).count() + messages_sent_by(user).count()


def write_company(writer: ZipWriter, company: Company) -> None:
    writer.json_object("company.json", company_row(company))
    writer.json_list("people.json", _rows(people_of(company.id), person_row))
    writer.json_list("spaces.json", _rows(spaces_of(company.id), space_row))
    writer.json_list("conversations.json", _rows(conversations_of(company.id), conversation_row))
    writer.json_list("messages.json", _rows(messages_of(company.id), message_row))


def write_mine(writer: ZipWriter, user: User) -> None:
    assert user.company is not None
    writer.json_object("company.json", company_row(user.company))
    writer.json_list("people.json", [person_row(user)])
    writer.json_list("conversations.json", _rows(conversations_of_messages_by(user), conversation_row))
    writer.json_list("messages.json", _rows(messages_sent_by(user), message_row))
