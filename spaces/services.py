"""Every write to spaces: create / update / delete, enter / leave / remove, meetings, and the room's system notes.

Entering a space and joining its room conversation happen in one transaction, so a space's occupants
(`Presence.current_space`) and its room's active participants never disagree: both rows change
together or not at all.

System notes in the room conversation (documented in docs/rooms.md, README "Rooms and system messages"):
- joined / left: one note per person and event per COALESCE_WINDOW (counted from the note's creation);
  a repeat within the window updates that note in place ("joined Lounge (3 times in a minute)"):
  the update takes the next `rev` and goes out as `message.updated`;
- at most NOTES_PER_MINUTE new notes per space in any 60 seconds, the same cap for every space of every
  company; past it, joined / left / meeting notes are dropped (presence and space status still update
  live) until the oldest note of that minute ages out. Status changes are always written (admins only,
  and a closed space must say why everyone left), but they count towards the cap.

Lock order, to keep concurrent writers free of deadlocks: space row -> presence rows (by user id) ->
conversation rows (by id). Only space_enter writes to two conversations (the old room's `left`, the new
room's `joined`); it writes them in conversation-id order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from messaging import services as messaging_services
from messaging.models import Conversation, Message
from presence.models import Presence
from presence.services import presence_engagement_set, presence_get_or_create
from spaces import domain
from spaces.models import Knock, Meeting, Space
from spaces.permissions import can_enter
from virtual_office.errors import Conflict, Forbidden, NotFound, ServiceError
from virtual_office.models import User
from virtual_office.tenancy import company_id_of

COALESCE_WINDOW = timedelta(seconds=60)
CAP_WINDOW = timedelta(seconds=60)
NOTES_PER_MINUTE = 30
# Coalescing and the cap look at the room's latest messages only (an index range on (conversation, seq)),
# never at its whole history. A room with more messages than this in one minute may get an extra note.
NOTE_LOOKBACK = 500
EDITABLE_FIELDS = ("name", "kind", "capacity", "status", "is_private", "x", "y", "w", "h")
ENTER_REASONS = ("moved", "teleport", "knock")
LEAVE_REASONS = ("left", "moved", "offline", "teleport", "knock", "removed", "closed")


def space_create(*, actor: User, data: dict[str, Any]) -> Space:
    with transaction.atomic():
        space = Space(company_id=company_id_of(actor), **{k: v for k, v in data.items() if k in EDITABLE_FIELDS})
        _check_name_free(space)
        space.full_clean()
        space.save()
        if space.is_private:
            assign_perm("enter_space", actor, space)
        domain.space_changed.send(sender=Space, actor=actor, space=space, action="space.created", changes={})
    return space


def _check_name_free(space: Space) -> None:
    clash = Space.objects.filter(company_id=space.company_id, name=space.name).exclude(pk=space.pk).exists()
    if clash:
        raise Conflict("name_taken", f"A space called {space.name!r} already exists.")


def space_update(*, actor: User, space: Space, data: dict[str, Any]) -> Space:
    """Edit a space. Closing it writes `status_changed`, ends a running meeting (`meeting_ended`), then
    moves everyone out (`left`, reason `closed`), in that order, in one transaction."""
    with transaction.atomic():
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        old_status = space.status
        changes = {}
        for key, value in data.items():
            if key in EDITABLE_FIELDS:
                if getattr(space, key) != value:
                    changes[key] = [getattr(space, key), value]
                setattr(space, key, value)
        _check_name_free(space)
        space.full_clean()
        space.save()
        if changes:
            domain.space_changed.send(sender=Space, actor=actor, space=space, action="space.updated", changes=changes)
        if space.status != old_status:
            closing = space.status == Space.Status.CLOSED
            inside = _lock_occupants(space) if closing else []
            conversation = _room_locked(space)
            _status_note(conversation=conversation, space=space, actor=actor, old=old_status)
            if closing:
                _close_meeting(space=space, actor=actor, conversation=conversation)
                for presence in inside:
                    _move_out(presence=presence, space=space, conversation=conversation, reason="closed", by=actor)
    return space


def space_delete(*, actor: User, space: Space) -> None:
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        for presence in _lock_occupants(space):
            presence.current_space = None
            presence.save(update_fields=["current_space", "updated_at"])  # presence.updated for each
            _meeting_engagement(presence, presence.user, on=False)
        domain.space_changed.send(sender=Space, actor=actor, space=space, action="space.deleted", changes={})
        space.delete()  # the room conversation goes with it


def _lock_occupants(space: Space) -> list[Presence]:
    return list(
        Presence.objects.select_for_update(no_key=True, of=("self",))
        .filter(current_space=space)
        .select_related("user")
        .order_by("user_id")
    )


def _meeting_engagement(presence: Presence, user: User, *, on: bool) -> None:
    """Presence shows the person busy (`in_meeting`) while the space they are in holds a meeting;
    called after each change of their space or of its meeting (the presence row is locked already)."""
    if on or (presence.engagements or {}).get("in_meeting"):
        presence_engagement_set(user=user, engagement="in_meeting", on=on, source="space")


def _lock_presence(presence_id: int) -> Presence:
    # FOR NO KEY UPDATE of the presence row only (not the joined user / space rows): writers of the same
    # presence queue here, while inserts that merely reference the user or space are not blocked.
    return Presence.objects.select_for_update(no_key=True, of=("self",)).select_related("current_space").get(
        pk=presence_id
    )


def _room_locked(space: Space) -> Conversation:
    """The space's room conversation (created on first need), its row locked until commit."""
    conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
    return Conversation.objects.select_for_update(no_key=True).get(pk=conversation.pk)


def space_enter(*, actor: User, space: Space, reason: str = "moved", admitted: bool = False) -> Presence:
    """Move actor into space, leaving any other first; 409 when closed, full or private to them.

    `reason` names how the person arrives and why they left the previous space: `moved` (they walked
    over), `teleport` (they accepted a teleport invitation: calling.services uses this) or `knock`
    (someone inside let them in: `knock_admit`, which passes `admitted`: then nothing but the company
    refuses them, as opening the door from inside would)."""
    if reason not in ENTER_REASONS:
        raise ServiceError("invalid_reason", f"reason must be one of {', '.join(ENTER_REASONS)}.")
    presence_id = presence_get_or_create(actor).pk
    with transaction.atomic():
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        presence = _lock_presence(presence_id)
        if space.company_id != actor.company_id:
            raise ServiceError("not_found", "No such space.", status=404)
        if presence.current_space_id == space.id:
            return presence
        if not admitted:
            _check_may_walk_in(actor, space)
        old_space = presence.current_space
        new_room, _ = messaging_services.room_conversation_get_or_create(space=space)
        old_room = messaging_services.room_conversation_get_or_create(space=old_space)[0] if old_space else None
        presence.current_space = space
        presence.save(update_fields=["current_space", "updated_at"])
        meeting = Meeting.objects.filter(space=space, ended_at__isnull=True).exists()
        _meeting_engagement(presence, actor, on=meeting)
        # Two rooms: take their locks in id order (see the module docstring).
        for room in sorted(filter(None, [new_room, old_room]), key=lambda c: c.pk):
            room = Conversation.objects.select_for_update(no_key=True).get(pk=room.pk)
            if old_room is not None and old_space is not None and room.pk == old_room.pk:
                _presence_note(
                    conversation=room, space=old_space, actor=actor, event="left", reason=reason, to_space=space
                )
                messaging_services.room_participant_leave(conversation=room, user=actor)
            else:
                messaging_services.room_participant_join(conversation=room, user=actor)
                _presence_note(
                    conversation=room, space=space, actor=actor, event="joined",
                    reason=reason if reason in ("teleport", "knock") or old_space is not None else "entered",
                    from_space=old_space,
                )
    return presence


def _check_may_walk_in(actor: User, space: Space) -> None:
    if space.status == Space.Status.CLOSED:
        raise Conflict("space_closed", f"{space.name} is closed.")
    if not can_enter(actor, space):
        raise Conflict("space_private", f"{space.name} is private; knock, or ask someone inside to invite you.")
    occupants = Presence.objects.filter(current_space=space).count()
    if occupants >= space.capacity:
        raise Conflict("space_full", f"{space.name} is full ({space.capacity} people).")


def space_leave(*, actor: User, reason: str = "left", by: User | None = None) -> Presence:
    """Take actor out of their space (no-op when in none). `reason`: left, offline (presence_settle),
    removed (space_remove), closed (space_update)."""
    if reason not in LEAVE_REASONS:
        raise ServiceError("invalid_reason", f"reason must be one of {', '.join(LEAVE_REASONS)}.")
    presence_id = presence_get_or_create(actor).pk
    with transaction.atomic():
        presence = _lock_presence(presence_id)
        space = presence.current_space
        if space is None:
            return presence
        _move_out(presence=presence, space=space, conversation=_room_locked(space), reason=reason, by=by)
    return presence


def space_remove(*, actor: User, space: Space, user: User) -> Presence:
    """A company admin takes someone out of a space (`left`, reason `removed`)."""
    if not actor.is_company_admin or actor.company_id != space.company_id:
        raise Forbidden("Only company admins can remove people from a space.")
    if user.company_id != space.company_id:
        raise ServiceError("not_found", "No such person.", status=404)
    with transaction.atomic():
        presence = _lock_presence(presence_get_or_create(user).pk)
        if presence.current_space_id != space.id:
            raise Conflict("not_in_space", f"{user.name} is not in {space.name}.")
        return space_leave(actor=user, reason="removed", by=actor)


def _move_out(*, presence: Presence, space: Space, conversation: Conversation, reason: str, by: User | None) -> None:
    # The note goes first: the leaver's own sockets still get it before they leave the room's group.
    _presence_note(conversation=conversation, space=space, actor=presence.user, event="left", reason=reason, by=by)
    messaging_services.room_participant_leave(conversation=conversation, user=presence.user)
    presence.current_space = None
    presence.save(update_fields=["current_space", "updated_at"])
    _meeting_engagement(presence, presence.user, on=False)


def meeting_start(*, actor: User, space: Space, title: str) -> Meeting:
    """`title`: 1 to 200 characters, checked by MeetingIn."""
    with transaction.atomic():
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        if space.status == Space.Status.CLOSED:
            raise Conflict("space_closed", f"{space.name} is closed.")
        if Meeting.objects.filter(space=space, ended_at__isnull=True).exists():
            raise Conflict("meeting_running", f"A meeting is already running in {space.name}.")
        meeting = Meeting.objects.create(space=space, title=title.strip(), started_by=actor, started_at=timezone.now())
        space.status = Space.Status.IN_USE
        space.save(update_fields=["status"])
        for presence in _lock_occupants(space):
            _meeting_engagement(presence, presence.user, on=True)
        conversation = _room_locked(space)
        if _under_cap(conversation):
            messaging_services.system_message_post(
                conversation=conversation,
                event="meeting_started",
                body=f"{actor.name} started the meeting “{meeting.title}” in {space.name}",
                payload={"actor": actor.id, "space": space.id, "meeting": meeting.id, "title": meeting.title},
            )
    return meeting


def meeting_end(*, actor: User, space: Space) -> Meeting:
    with transaction.atomic():
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        meeting = _close_meeting(space=space, actor=actor, conversation=None)
        if meeting is None:
            raise Conflict("no_meeting", f"No meeting is running in {space.name}.")
        if space.status == Space.Status.IN_USE:
            space.status = Space.Status.AVAILABLE
            space.save(update_fields=["status"])
    return meeting


def _close_meeting(*, space: Space, actor: User, conversation: Conversation | None) -> Meeting | None:
    meeting = Meeting.objects.select_for_update(no_key=True).filter(space=space, ended_at__isnull=True).first()
    if meeting is None:
        return None
    meeting.ended_at = timezone.now()
    meeting.ended_by = actor
    meeting.save(update_fields=["ended_at", "ended_by"])
    for presence in _lock_occupants(space):
        _meeting_engagement(presence, presence.user, on=False)
    conversation = conversation or _room_locked(space)
    if _under_cap(conversation):
        duration = meeting.duration_seconds or 0
        messaging_services.system_message_post(
            conversation=conversation,
            event="meeting_ended",
            body=f"{actor.name} ended the meeting “{meeting.title}” after {_duration_text(duration)}",
            payload={
                "actor": actor.id, "space": space.id, "meeting": meeting.id, "title": meeting.title,
                "started_by": meeting.started_by_id, "duration_seconds": duration,
            },
        )
    return meeting


def _duration_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def _status_note(*, conversation: Conversation, space: Space, actor: User, old: str) -> None:
    messaging_services.system_message_post(
        conversation=conversation,
        event="status_changed",
        body=f"{actor.name} set {space.name} to {space.get_status_display().lower()}",
        payload={"actor": actor.id, "space": space.id, "from": old, "to": space.status},
    )


def _under_cap(conversation: Conversation) -> bool:
    """Fewer than NOTES_PER_MINUTE system notes in this room in the last CAP_WINDOW. The caller holds the
    conversation's row lock, so concurrent writers cannot both slip under the cap."""
    since = timezone.now() - CAP_WINDOW
    recent = Message.objects.filter(
        conversation=conversation,
        seq__gt=conversation.rev - NOTE_LOOKBACK,
        kind=Message.Kind.SYSTEM,
        created_at__gte=since,
    ).count()
    return recent < NOTES_PER_MINUTE


def _presence_body(
    *, actor: User, space: Space, event: str, reason: str, by: User | None, to_space: Space | None
) -> str:
    if event == "joined":
        return f"{actor.name} joined {space.name}" + {"teleport": " (teleported)", "knock": " (let in)"}.get(reason, "")
    if reason in ("moved", "knock") and to_space is not None:
        return f"{actor.name} moved to {to_space.name}"
    if reason == "teleport" and to_space is not None:
        return f"{actor.name} teleported to {to_space.name}"
    if reason == "offline":
        return f"{actor.name} went offline"
    if reason == "removed":
        return f"{actor.name} was removed" + (f" by {by.name}" if by is not None else "")
    if reason == "closed":
        return f"{actor.name} left (space closed)"
    return f"{actor.name} left {space.name}"


def _presence_note(
    *,
    conversation: Conversation,
    space: Space,
    actor: User,
    event: str,
    reason: str,
    by: User | None = None,
    to_space: Space | None = None,
    from_space: Space | None = None,
) -> Message | None:
    """A joined / left note, coalesced per person and event within COALESCE_WINDOW, capped per room.
    The caller holds the conversation's row lock."""
    now = timezone.now()
    body = _presence_body(actor=actor, space=space, event=event, reason=reason, by=by, to_space=to_space)
    details: dict[str, Any] = {"reason": reason, "last_at": now.isoformat()}
    if event == "left":
        details["to"] = to_space.id if to_space is not None else None
        details["by"] = by.id if by is not None else None
    else:
        details["from"] = from_space.id if from_space is not None else None
    recent = (
        Message.objects.filter(
            conversation=conversation,
            seq__gt=conversation.rev - NOTE_LOOKBACK,
            kind=Message.Kind.SYSTEM,
            created_at__gte=now - COALESCE_WINDOW,
            system__event=event,
            system__actor=actor.id,
        )
        .order_by("-seq")
        .first()
    )
    if recent is not None:
        count = int((recent.system or {}).get("count", 1)) + 1
        return messaging_services.system_message_update(
            message=recent, body=f"{body} ({count} times in a minute)", payload={"count": count, **details}
        )
    if not _under_cap(conversation):
        return None
    return messaging_services.system_message_post(
        conversation=conversation,
        event=event,
        body=body,
        payload={"actor": actor.id, "space": space.id, "count": 1, **details},
    )


# -- knocks --------------------------------------------------------------------------------------
# Knock: pending -> admitted | denied | expired. As calls and teleports (calling.services), each
# transition is one conditional UPDATE (`... WHERE status = 'pending' AND expires_at > now`), so a
# double admit, an admit racing a deny, or an admit racing the expiry sweep resolve one way. Expiry
# needs no cron: every server process runs `knocks_expire()` (spaces.handlers.knock_sweeper).


def _knock(knock_id: int) -> Knock:
    return Knock.objects.select_related("space", "user").get(pk=knock_id)


def _inside(space_id: int) -> list[int]:
    inside = Presence.objects.filter(current_space_id=space_id).order_by("user_id")
    return list(inside.values_list("user_id", flat=True))


def knock_reason(*, user: User, space: Space, occupants: int, meeting_running: bool) -> str | None:
    """Why `user` may not simply walk into `space` (so knocking makes sense), or None when they may:
    `closed`, `private` (and not granted to them), `full`, or `meeting` (one is running)."""
    if space.status == Space.Status.CLOSED:
        return "closed"
    if not can_enter(user, space):
        return "private"
    if occupants >= space.capacity:
        return "full"
    if meeting_running:
        return "meeting"
    return None


def knock_create(*, actor: User, space: Space, note: str = "") -> Knock:
    """Knock on a space actor may not simply enter that has someone inside; they have KNOCK_SECONDS to
    answer. 409 `knock_not_needed` when actor could walk in (or is inside), `space_empty` when nobody
    is there to open, `already_knocking` while actor's previous knock there waits."""
    if space.company_id != actor.company_id:
        raise NotFound("No such space.")
    with transaction.atomic():
        # The space row first, as space_enter: who is inside cannot change under this check.
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        inside = _inside(space.id)
        if actor.id in inside:
            raise Conflict("knock_not_needed", f"You are already in {space.name}.")
        meeting_running = Meeting.objects.filter(space=space, ended_at__isnull=True).exists()
        if knock_reason(user=actor, space=space, occupants=len(inside), meeting_running=meeting_running) is None:
            raise Conflict("knock_not_needed", f"{space.name} is open to you: walk in.")
        if not inside:
            raise Conflict("space_empty", f"Nobody is in {space.name} to let you in.")
        now = timezone.now()
        if Knock.objects.filter(space=space, user=actor, status=Knock.Status.PENDING, expires_at__gt=now).exists():
            raise Conflict("already_knocking", f"You already knocked on {space.name}; wait for an answer.")
        knock = Knock.objects.create(
            company_id=space.company_id,
            space=space,
            user=actor,
            note=note.strip(),
            expires_at=now + timedelta(seconds=settings.KNOCK_SECONDS),
        )
        knock = _knock(knock.pk)
        domain.knock_changed.send(sender=Knock, knock=knock, event_type="space.knock", occupant_ids=inside)
    return knock


def _knock_refusal(knock_id: int) -> ServiceError:
    knock = _knock(knock_id)
    if knock.status == Knock.Status.PENDING and knock.expires_at <= timezone.now():
        knock_expire(knock_id=knock_id)
        knock = _knock(knock_id)
    messages = {
        Knock.Status.PENDING: ("knock_pending", "This knock has not been answered yet."),
        Knock.Status.ADMITTED: ("already_admitted", f"{knock.user.name} was already let in."),
        Knock.Status.DENIED: ("already_denied", "This knock was already turned down."),
        Knock.Status.EXPIRED: ("knock_expired", "This knock went unanswered and expired."),
    }
    code, message = messages[Knock.Status(knock.status)]
    return Conflict(code, message)


def _knock_answer(*, actor: User, knock: Knock, status: str, event_type: str) -> Knock:
    if actor.company_id != knock.company_id:
        raise NotFound("No such knock.", code="knock_not_found")
    now = timezone.now()
    with transaction.atomic():
        if not Presence.objects.filter(user=actor, current_space_id=knock.space_id).exists():
            raise Forbidden(f"Only someone inside {knock.space.name} can answer this knock.", code="not_occupant")
        won = Knock.objects.filter(pk=knock.pk, status=Knock.Status.PENDING, expires_at__gt=now).update(
            status=status, answered_at=now, answered_by=actor
        )
        if won:
            knock = _knock(knock.pk)
            if status == Knock.Status.ADMITTED:
                # Opening the door from inside: in at once, whatever (private, full, meeting) kept them out.
                space_enter(actor=knock.user, space=knock.space, reason="knock", admitted=True)
            inside = [user_id for user_id in _inside(knock.space_id) if user_id != knock.user_id]
            domain.knock_changed.send(sender=Knock, knock=knock, event_type=event_type, occupant_ids=inside)
            return knock
    raise _knock_refusal(knock.pk)


def knock_admit(*, actor: User, knock: Knock) -> Knock:
    """An occupant lets the knocker in: moved into the space at once (never into another company's)."""
    return _knock_answer(actor=actor, knock=knock, status=Knock.Status.ADMITTED, event_type="knock.admitted")


def knock_deny(*, actor: User, knock: Knock) -> Knock:
    return _knock_answer(actor=actor, knock=knock, status=Knock.Status.DENIED, event_type="knock.denied")


def knock_expire(*, knock_id: int) -> bool:
    """Pending past expires_at -> expired, once: True if this caller won the row (and announced it)."""
    with transaction.atomic():
        won = Knock.objects.filter(
            pk=knock_id, status=Knock.Status.PENDING, expires_at__lte=timezone.now()
        ).update(status=Knock.Status.EXPIRED)
        if not won:
            return False
        knock = _knock(knock_id)
        inside = [user_id for user_id in _inside(knock.space_id) if user_id != knock.user_id]
        domain.knock_changed.send(sender=Knock, knock=knock, event_type="knock.expired", occupant_ids=inside)
    return True


def knocks_expire(batch: int = 200) -> list[int]:
    """Expire every overdue pending knock; returns the ids this process won. SKIP LOCKED: a row
    another process is sweeping (or an answer in flight) holds is theirs."""
    won: list[int] = []
    for _ in range(batch):
        with transaction.atomic():
            knock_id = (
                Knock.objects.select_for_update(skip_locked=True)
                .filter(status=Knock.Status.PENDING, expires_at__lte=timezone.now())
                .order_by("expires_at")
                .values_list("id", flat=True)
                .first()
            )
            if knock_id is None:
                break
            if knock_expire(knock_id=knock_id):
                won.append(knock_id)
    return won
