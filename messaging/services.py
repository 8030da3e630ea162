"""Every write to conversations and messages. Callers check access first (`messaging.permissions`)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.shortcuts import assign_perm

from messaging import domain, permissions, selectors, text
from messaging.models import Attachment, Conversation, Message, Participant, Reaction
from presence.models import Connection
from presence.services import stale_after
from virtual_office.errors import Conflict, ServiceError
from virtual_office.models import User
from virtual_office.tenancy import company_id_of


def _next_rev(conversation_id: int) -> int:
    """Take the conversation's next revision. The UPDATE locks the row until commit, so concurrent
    writers queue here: revisions are gapless (a rollback returns the number) and in commit order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_conversation SET rev = rev + 1, last_activity_at = %s WHERE id = %s RETURNING rev",
            [timezone.now(), conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise ServiceError("not_found", "No such conversation.", status=404)
    return int(row[0])


def _require_text(body: str, *, allow_empty: bool) -> str:
    """The body's type and length were checked at the edge (MessageTextIn); only this rule is the
    service's: a message without attachments needs some text."""
    if not body.strip() and not allow_empty:
        raise ServiceError("empty_body", "A message needs some text or an attachment.")
    return body


def _rendered(*, actor: User | None, conversation: Conversation, body: str) -> tuple[str, list[int]]:
    """`body_html` and `mentions` of a user message: `@username` mentions that person of the company,
    `@here` every participant with a live socket but the sender; only people who may read the
    conversation are mentioned (the others stay plain text). The sender is never in `mentions`."""
    parsed = text.parse(body)
    ids_by_name: dict[str, int] = {}
    if parsed.usernames:
        named = User.objects.annotate(lower_name=Lower("username")).filter(
            company_id=conversation.company_id, is_active=True, lower_name__in=sorted(parsed.usernames)
        )
        ids_by_name = {user.username.lower(): user.id for user in permissions.readers_among(conversation, named)}
    mentioned = set(ids_by_name.values())
    if parsed.mentions_here:
        mentioned |= _here_ids(conversation=conversation, actor=actor)
    if actor is not None:
        mentioned.discard(actor.id)
    return parsed.html(ids_by_name, here=parsed.mentions_here), sorted(mentioned)


def _here_ids(*, conversation: Conversation, actor: User | None) -> set[int]:
    """Active participants with a live socket (presence's connection rows, heartbeated lately)."""
    live = Connection.objects.filter(heartbeat_at__gte=timezone.now() - stale_after()).values("user_id")
    participants = Participant.objects.filter(conversation=conversation, is_active=True, user_id__in=live)
    if actor is not None:
        participants = participants.exclude(user_id=actor.id)
    return set(participants.values_list("user_id", flat=True))


# Django's upload handlers set an upload's name and size; a bare `UploadedFile` may have neither.
def _upload_name(upload: UploadedFile) -> str:
    return upload.name or ""


def _upload_size(upload: UploadedFile) -> int:
    return upload.size or 0


def validate_attachments(files: Sequence[UploadedFile]) -> None:
    if len(files) > settings.ATTACHMENT_MAX_COUNT:
        raise ServiceError("too_many_attachments", f"At most {settings.ATTACHMENT_MAX_COUNT} attachments per message.")
    for upload in files:
        name, size = _upload_name(upload), _upload_size(upload)
        if size > settings.ATTACHMENT_MAX_BYTES:
            raise ServiceError(
                "attachment_too_large",
                f"{name} is larger than {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
                status=413,
            )
        content_type = (upload.content_type or mimetypes.guess_type(name)[0] or "").split(";")[0]
        # Files are served by name, so the type the name implies must be allowed too: "page.html"
        # declared as text/plain would otherwise come back as text/html from our own origin.
        implied = mimetypes.guess_type(name)[0]
        if implied is not None and implied not in settings.ATTACHMENT_ALLOWED_TYPES:
            content_type = implied
        if content_type not in settings.ATTACHMENT_ALLOWED_TYPES:
            raise ServiceError(
                "attachment_type", f"Files of type {content_type or 'unknown'} cannot be attached.", status=415
            )


def message_send(
    *,
    actor: User,
    conversation: Conversation,
    body: str,
    client_id: str | None = None,
    reply_to: int | None = None,
    files: Sequence[UploadedFile] = (),
) -> tuple[Message, bool]:
    """Post a message. Returns (message, created); a repeated client_id returns the first message."""
    files = list(files)
    body = _require_text(body, allow_empty=bool(files))
    client_id = client_id or None
    validate_attachments(files)
    if client_id is not None:
        existing = Message.objects.filter(sender=actor, client_id=client_id).first()
        if existing is not None:
            return _same_retry(existing, conversation, body), False
    reply = None
    if reply_to is not None:
        try:
            reply = Message.objects.get(pk=reply_to, conversation=conversation)
        except Message.DoesNotExist:
            raise ServiceError("invalid_reply_to", "reply_to must be a message of this conversation.") from None
    _load_presence(actor)  # read before the row lock: the event shows the sender's presence
    body_html, mentions = _rendered(actor=actor, conversation=conversation, body=body)
    try:
        with transaction.atomic():
            rev = _next_rev(conversation.id)
            message = Message.objects.create(
                conversation=conversation,
                seq=rev,
                rev=rev,
                kind=Message.Kind.USER,
                sender=actor,
                body=body,
                body_html=body_html,
                mentions=mentions,
                reply_to=reply,
                # A reply to a reply belongs to the root's thread.
                thread_root_id=(reply.thread_root_id or reply.id) if reply is not None else None,
                client_id=client_id,
            )
            attachments = [
                Attachment.objects.create(
                    company_id=conversation.company_id,
                    message=message,
                    uploaded_by=actor,
                    file=upload,
                    name=_upload_name(upload)[:255],
                    size=_upload_size(upload),
                    content_type=(upload.content_type or "application/octet-stream").split(";")[0],
                )
                for upload in files
            ]
            _remember_relations(message, attachments)
            if message.thread_root_id is not None:
                _thread_changed(conversation_id=conversation.id, root_id=message.thread_root_id)
    except IntegrityError:
        # A concurrent retry with the same client_id won; its message is the answer.
        existing = Message.objects.filter(sender=actor, client_id=client_id).first() if client_id else None
        if existing is None:
            raise
        return _same_retry(existing, conversation, body), False
    return message, True


def _thread_changed(*, conversation_id: int, root_id: int) -> None:
    """A reply came or went: the root counts its replies again, and that is a durable change of the
    root (its next rev, saved: the signal sends `message.updated`). Called inside the writer's
    transaction, after the reply's own rev, so the root's event follows the reply's."""
    # Loaded with what its event shows, under the conversation's row lock (the caller's rev took it):
    # nothing else changes the root meanwhile.
    root = selectors.message_queryset().filter(pk=root_id).first()
    if root is None:
        return
    root.reply_count = Message.objects.filter(thread_root_id=root_id, deleted_at__isnull=True).count()
    root.rev = _next_rev(conversation_id)
    root.save(update_fields=["reply_count", "rev"])


def _load_presence(user: User) -> None:
    try:
        user.presence  # noqa: B018  (caches the related row on the instance)
    except ObjectDoesNotExist:
        pass


def _remember_relations(message: Message, attachments: list[Attachment]) -> None:
    """A new message has no reactions and the attachments just written: keep them on the instance so
    its event (built at commit, on the hot path of every send) and the ack need no further query."""
    known = Attachment.objects.filter(message=message)
    known._result_cache = attachments
    selectors.remember_related(message, reactions=Reaction.objects.none(), attachments=known)


def _same_retry(existing: Message, conversation: Conversation, body: str) -> Message:
    if existing.conversation_id != conversation.id or existing.body != body:
        raise Conflict("client_id_conflict", "This client_id was already used for a different message.")
    return existing


def system_message_post(
    *, conversation: Conversation, event: str, body: str, payload: dict[str, Any]
) -> Message:
    with transaction.atomic():
        rev = _next_rev(conversation.id)
        message = Message.objects.create(
            conversation=conversation,
            seq=rev,
            rev=rev,
            kind=Message.Kind.SYSTEM,
            body=body,
            body_html=text.render(body),
            system={"event": event, **payload},
        )
        _remember_relations(message, [])
    return message


def system_message_update(*, message: Message, body: str, payload: dict[str, Any]) -> Message:
    with transaction.atomic():
        message.rev = _next_rev(message.conversation_id)
        message.body = body
        message.body_html = text.render(body)
        message.system = {**(message.system or {}), **payload}
        message.edited_at = timezone.now()
        message.save(update_fields=["rev", "body", "body_html", "system", "edited_at"])
    return message


def message_edit(*, actor: User, message: Message, body: str) -> Message:
    if message.deleted:
        raise Conflict("message_deleted", "A deleted message cannot be edited.")
    body = _require_text(body, allow_empty=message.attachments.exists())
    body_html, mentions = _rendered(actor=actor, conversation=message.conversation, body=body)
    with transaction.atomic():
        message.rev = _next_rev(message.conversation_id)
        message.body = body
        message.body_html = body_html
        message.mentions = mentions
        message.edited_at = timezone.now()
        message.save(update_fields=["rev", "body", "body_html", "mentions", "edited_at"])
    return message


def message_delete(*, actor: User, message: Message) -> Message:
    """Delete as a tombstone: the row keeps its place (`seq`) so clients and `changes/` see it go."""
    if message.deleted:
        return message
    with transaction.atomic():
        message.rev = _next_rev(message.conversation_id)
        message.body = ""
        message.body_html = ""
        message.mentions = []
        message.deleted_at = timezone.now()
        Reaction.objects.filter(message=message).delete()
        for attachment in message.attachments.all():
            attachment.file.delete(save=False)
            attachment.delete()
        message.save(update_fields=["rev", "body", "body_html", "mentions", "deleted_at"])
        if message.sender_id != actor.pk:
            domain.message_deleted_by_other.send(sender=Message, actor=actor, message=message)
        if message.thread_root_id is not None:
            _thread_changed(conversation_id=message.conversation_id, root_id=message.thread_root_id)
    return message


def message_admin_save(*, message: Message, changed: Iterable[str]) -> Message:
    """An operator's edit in the admin counts as a durable change like any other."""
    with transaction.atomic():
        message.rev = _next_rev(message.conversation_id)
        if "body" in changed:
            message.edited_at = timezone.now()
            if message.deleted:
                message.body_html, message.mentions = "", []
            elif message.kind == Message.Kind.USER:
                message.body_html, message.mentions = _rendered(
                    actor=message.sender, conversation=message.conversation, body=message.body
                )
            else:
                message.body_html = text.render(message.body)
        message.save()
    return message


def reaction_add(*, actor: User, message: Message, emoji: str) -> Message:
    if message.deleted:
        raise Conflict("message_deleted", "You cannot react to a deleted message.")
    if Reaction.objects.filter(message=message, user=actor, emoji=emoji).exists():
        return message
    try:
        with transaction.atomic():
            rev = _next_rev(message.conversation_id)
            Message.objects.filter(pk=message.pk).update(rev=rev)
            message.rev = rev
            Reaction.objects.create(message=message, user=actor, emoji=emoji)
    except IntegrityError:
        message.refresh_from_db(fields=["rev"])  # a concurrent identical reaction won
    return message


def reaction_remove(*, actor: User, message: Message, emoji: str) -> Message:
    with transaction.atomic():
        reaction = Reaction.objects.select_for_update().filter(message=message, user=actor, emoji=emoji).first()
        if reaction is None:
            return message
        rev = _next_rev(message.conversation_id)
        Message.objects.filter(pk=message.pk).update(rev=rev)
        message.rev = rev
        reaction.delete()
    return message


def conversation_mark_read(*, actor: User, conversation: Conversation, seq: int) -> Participant:
    participant = Participant.objects.filter(conversation=conversation, user=actor).first()
    if participant is None:
        raise ServiceError("not_participant", "You are not a participant of this conversation.", status=403)
    seq = min(seq, Conversation.objects.values_list("rev", flat=True).get(pk=conversation.pk))
    Participant.objects.filter(pk=participant.pk, last_read_seq__lt=seq).update(last_read_seq=seq)
    participant.refresh_from_db(fields=["last_read_seq"])
    return participant


def _company_users(actor: User, user_ids: Iterable[int]) -> list[User]:
    ids = set(user_ids)
    users = list(User.objects.filter(pk__in=ids, company=actor.company_id, is_active=True))
    if len(users) != len(ids):
        raise ServiceError("unknown_participant", "Some participants are not people of your company.")
    return users


def direct_get_or_create(*, actor: User, other_id: int) -> tuple[Conversation, bool]:
    (other,) = _company_users(actor, [other_id])
    company_id = company_id_of(actor)
    low, high = sorted([actor.id, other.id])
    key = f"{low}:{high}"
    existing = Conversation.objects.filter(company_id=company_id, direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                company_id=company_id, kind=Conversation.Kind.DIRECT, direct_key=key, created_by=actor
            )
            for user in {actor.id: actor, other.id: other}.values():
                Participant.objects.create(conversation=conversation, user=user)
    except IntegrityError:
        return Conversation.objects.get(company_id=company_id, direct_key=key), False
    return conversation, True


def group_create(*, actor: User, title: str, participant_ids: Iterable[int]) -> Conversation:
    title = title.strip()
    users = _company_users(actor, participant_ids)
    company_id = company_id_of(actor)
    with transaction.atomic():
        conversation = Conversation.objects.create(
            company_id=company_id, kind=Conversation.Kind.GROUP, title=title, created_by=actor
        )
        for user in {u.id: u for u in [actor, *users]}.values():
            Participant.objects.create(conversation=conversation, user=user)
        assign_perm("manage_conversation", actor, conversation)
    return conversation


def conversation_update(
    *, actor: User, conversation: Conversation, title: str | None = None, participant_ids: Iterable[int] | None = None,
    may_manage: bool = False,
) -> Conversation:
    if conversation.kind != Conversation.Kind.GROUP:
        raise ServiceError("not_a_group", "Only group conversations can be renamed or change participants.")
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if title is not None:
            locked.title = title.strip()
            locked.save(update_fields=["title"])
        if participant_ids is not None:
            if not may_manage:
                raise ServiceError(
                    "permission_denied", "Only the group's managers can change its participants.", status=403
                )
            wanted = {u.id for u in _company_users(actor, participant_ids)} | {actor.id}
            current = {p.user_id: p for p in Participant.objects.filter(conversation=locked)}
            for user_id in wanted:
                participant = current.get(user_id)
                if participant is None:
                    Participant.objects.create(conversation=locked, user_id=user_id)
                elif not participant.is_active:
                    participant_set_active(participant=participant, active=True)
            for user_id, participant in current.items():
                if user_id not in wanted and participant.is_active:
                    participant_set_active(participant=participant, active=False)
    return locked


def participant_set_active(*, participant: Participant, active: bool) -> Participant:
    participant.is_active = active
    participant.left_at = None if active else timezone.now()
    participant.save(update_fields=["is_active", "left_at"])
    return participant


def room_conversation_get_or_create(*, space: Any) -> tuple[Conversation, bool]:
    """Exactly one room conversation per space, also under concurrent first requests (unique `space`)."""
    existing = Conversation.objects.filter(space=space).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                company_id=space.company_id, kind=Conversation.Kind.ROOM, space=space, title=space.name
            )
    except IntegrityError:
        return Conversation.objects.get(space=space), False
    return conversation, True


def room_participant_join(*, conversation: Conversation, user: User) -> Participant:
    participant, created = Participant.objects.get_or_create(conversation=conversation, user=user)
    if not created and not participant.is_active:
        participant_set_active(participant=participant, active=True)
    return participant


def room_participant_leave(*, conversation: Conversation, user: User) -> None:
    participant = Participant.objects.filter(conversation=conversation, user=user, is_active=True).first()
    if participant is not None:
        participant_set_active(participant=participant, active=False)
