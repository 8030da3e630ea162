"""Every write to spaces: create / update / delete, enter / leave, meetings, and the room's system notes.

Entering a space and joining its room conversation happen in one transaction, so a space's occupants
(`Presence.current_space`) and its room's active participants never disagree.

System notes in the room conversation (see README, "Rooms and system messages"):
- joined / left: one note per person and event per COALESCE window; a repeat within the window
  updates that note ("joined (3 times)") instead of adding another;
- at most NOTES_PER_MINUTE notes per space per minute; past that, notes are dropped (presence still
  updates live) until the minute has passed;
- status changes, meeting started / ended are always written (they are deliberate acts, and rare).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from messaging import services as messaging_services
from messaging.models import Conversation, Message
from presence.models import Presence
from presence.services import presence_for
from spaces.models import Meeting, Space
from spaces.permissions import can_enter
from virtual_office.errors import Conflict, ServiceError
from virtual_office.models import User

COALESCE_WINDOW = timedelta(seconds=60)
NOTES_PER_MINUTE = 30
EDITABLE_FIELDS = ("name", "kind", "capacity", "status", "is_private", "x", "y", "w", "h")
LEAVE_REASONS = {
    "left": "left",
    "moved": "moved to another space",
    "offline": "went offline",
    "teleport": "teleported away",
    "removed": "was removed",
    "closed": "left (space closed)",
}


def space_create(*, actor: User, data: dict[str, Any]) -> Space:
    with transaction.atomic():
        space = Space(company_id=actor.company_id, **{k: v for k, v in data.items() if k in EDITABLE_FIELDS})
        _check_name_free(space)
        space.full_clean()
        space.save()
        if space.is_private:
            assign_perm("enter_space", actor, space)
    return space


def _check_name_free(space: Space) -> None:
    clash = Space.objects.filter(company_id=space.company_id, name=space.name).exclude(pk=space.pk).exists()
    if clash:
        raise Conflict("name_taken", f"A space called {space.name!r} already exists.")


def space_update(*, actor: User, space: Space, data: dict[str, Any]) -> Space:
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        old_status = space.status
        for key, value in data.items():
            if key in EDITABLE_FIELDS:
                setattr(space, key, value)
        _check_name_free(space)
        space.full_clean()
        space.save()
        if space.status != old_status:
            _status_note(space=space, actor=actor, old=old_status)
            if space.status == Space.Status.CLOSED:
                _close_meeting(space=space, actor=actor, note=True)
                for presence in Presence.objects.filter(current_space=space).select_related("user").order_by("user_id"):
                    space_leave(actor=presence.user, reason="closed")
    return space


def space_delete(*, actor: User, space: Space) -> None:
    with transaction.atomic():
        Presence.objects.filter(current_space=space).update(current_space=None)
        space.delete()


def space_enter(*, actor: User, space: Space, reason: str = "moved") -> Presence:
    """Move actor into space (leaving any other first); 409 when closed, full or private to them."""
    with transaction.atomic():
        presence = Presence.objects.select_for_update().get(pk=presence_for(actor).pk)
        space = Space.objects.select_for_update().get(pk=space.pk)
        if presence.current_space_id == space.id:
            return presence
        if space.company_id != actor.company_id:
            raise ServiceError("not_found", "No such space.", status=404)
        if space.status == Space.Status.CLOSED:
            raise Conflict("space_closed", f"{space.name} is closed.")
        if not can_enter(actor, space):
            raise Conflict("space_private", f"{space.name} is private; ask someone inside to invite you.")
        occupants = Presence.objects.filter(current_space=space).count()
        if occupants >= space.capacity:
            raise Conflict("space_full", f"{space.name} is full ({space.capacity} people).")
        if presence.current_space_id is not None:
            _leave(presence=presence, actor=actor, reason=reason)
        presence.current_space = space
        presence.save(update_fields=["current_space", "updated_at"])
        conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
        messaging_services.room_participant_join(conversation=conversation, user=actor)
        _presence_note(conversation=conversation, space=space, actor=actor, event="joined", detail=None)
    return presence


def space_leave(*, actor: User, reason: str = "left") -> Presence:
    with transaction.atomic():
        presence = Presence.objects.select_for_update().get(pk=presence_for(actor).pk)
        if presence.current_space_id is None:
            return presence
        _leave(presence=presence, actor=actor, reason=reason)
        presence.current_space = None
        presence.save(update_fields=["current_space", "updated_at"])
    return presence


def _leave(*, presence: Presence, actor: User, reason: str) -> None:
    space = presence.current_space
    conversation = Conversation.objects.filter(space=space).first()
    if conversation is None:
        return
    messaging_services.room_participant_leave(conversation=conversation, user=actor)
    _presence_note(conversation=conversation, space=space, actor=actor, event="left", detail=reason)


def meeting_start(*, actor: User, space: Space, title: Any) -> Meeting:
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise ServiceError("invalid_title", "A meeting needs a title of at most 200 characters.")
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        if space.status == Space.Status.CLOSED:
            raise Conflict("space_closed", f"{space.name} is closed.")
        if Meeting.objects.filter(space=space, ended_at__isnull=True).exists():
            raise Conflict("meeting_running", f"A meeting is already running in {space.name}.")
        meeting = Meeting.objects.create(space=space, title=title.strip(), started_by=actor, started_at=timezone.now())
        space.status = Space.Status.IN_USE
        space.save(update_fields=["status"])
        conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
        messaging_services.system_message_post(
            conversation=conversation,
            event="meeting_started",
            body=f"{actor.name} started the meeting “{meeting.title}”",
            payload={"actor": actor.id, "space": space.id, "meeting": meeting.id, "title": meeting.title},
        )
    return meeting


def meeting_end(*, actor: User, space: Space) -> Meeting:
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        meeting = _close_meeting(space=space, actor=actor, note=True)
        if meeting is None:
            raise Conflict("no_meeting", f"No meeting is running in {space.name}.")
        if space.status == Space.Status.IN_USE:
            space.status = Space.Status.AVAILABLE
            space.save(update_fields=["status"])
    return meeting


def _close_meeting(*, space: Space, actor: User, note: bool) -> Meeting | None:
    meeting = Meeting.objects.select_for_update().filter(space=space, ended_at__isnull=True).first()
    if meeting is None:
        return None
    meeting.ended_at = timezone.now()
    meeting.ended_by = actor
    meeting.save(update_fields=["ended_at", "ended_by"])
    if note:
        conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
        minutes, seconds = divmod(meeting.duration_seconds or 0, 60)
        messaging_services.system_message_post(
            conversation=conversation,
            event="meeting_ended",
            body=f"{actor.name} ended the meeting “{meeting.title}” after {minutes} min {seconds} s",
            payload={
                "actor": actor.id, "space": space.id, "meeting": meeting.id, "title": meeting.title,
                "duration_seconds": meeting.duration_seconds,
            },
        )
    return meeting


def _status_note(*, space: Space, actor: User, old: str) -> None:
    conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
    messaging_services.system_message_post(
        conversation=conversation,
        event="status_changed",
        body=f"{actor.name} set {space.name} to {space.get_status_display().lower()}",
        payload={"actor": actor.id, "space": space.id, "from": old, "to": space.status},
    )


def _presence_note(*, conversation: Conversation, space: Space, actor: User, event: str, detail: str | None) -> None:
    now = timezone.now()
    recent = (
        Message.objects.filter(
            conversation=conversation,
            kind=Message.Kind.SYSTEM,
            created_at__gte=now - COALESCE_WINDOW,
            system__event=event,
            system__actor=actor.id,
        )
        .order_by("-seq")
        .first()
    )
    verb = "joined" if event == "joined" else LEAVE_REASONS.get(detail or "left", "left")
    if recent is not None:
        count = int((recent.system or {}).get("count", 1)) + 1
        messaging_services.system_message_update(
            message=recent,
            body=f"{actor.name} {verb} ({count} times in a minute)",
            payload={"count": count, "reason": detail, "last_at": now.isoformat()},
        )
        return
    in_last_minute = Message.objects.filter(
        conversation=conversation, kind=Message.Kind.SYSTEM, created_at__gte=now - timedelta(minutes=1)
    ).count()
    if in_last_minute >= NOTES_PER_MINUTE:
        return
    messaging_services.system_message_post(
        conversation=conversation,
        event=event,
        body=f"{actor.name} {verb}" + ("" if event == "left" else f" {space.name}"),
        payload={"actor": actor.id, "space": space.id, "reason": detail, "count": 1},
    )
