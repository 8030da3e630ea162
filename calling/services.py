"""Every write to calls and teleport invitations.

States only move forward, and the database decides who wins: each transition is one conditional
UPDATE (`... WHERE state = 'ringing' AND expires_at > now`), so a double accept, an accept after a
cancel, or an accept racing the expiry sweep all resolve one way, whichever commits first. The loser
re-reads the row and is told, in a sentence, what happened instead.

Call:     ringing -> accepted -> ended
          ringing -> declined | cancelled | missed
Teleport: pending -> accepted | declined | expired

Expiry needs no cron: `invitations_expire()` is run about once a second by every server process
(`calling.handlers.expiry_sweeper`, started with the process' socket hub). It locks due rows with
`SKIP LOCKED`, so with several processes each expired row is written, and announced, exactly once.
An accept also checks `expires_at` itself, so an invitation that expired while no server ran can
never be accepted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from calling import domain
from calling.models import Call, Teleport
from calling.permissions import access_colleague
from calling.selectors import teleport_pending, users_in_calls
from messaging import services as messaging_services
from presence import policy
from presence.models import Presence
from presence.services import presence_engagement_set, presence_get_or_create
from presence.status import resolve
from spaces import services as space_services
from spaces.models import Space
from spaces.permissions import access_space, can_enter
from virtual_office.errors import Conflict, Forbidden, ServiceError
from virtual_office.models import User
from virtual_office.tenancy import company_id_of

SWEEP_BATCH = 200


def _call(call_id: int) -> Call:
    return Call.objects.select_related("caller", "callee").get(pk=call_id)


def _teleport(teleport_id: int) -> Teleport:
    return Teleport.objects.select_related("inviter", "invitee", "space").get(pk=teleport_id)


def _reachable(presence: Presence | None, name: str, *, noun: str, kind: str) -> str:
    """Ask the interruption policy (presence.policy) whether `kind` may reach this person: offline
    and dnd (by hand or in quiet hours) are refused; the answer is their status ("busy": quietly)."""
    status = resolve(presence, timezone.now())
    if status.status == Presence.OFFLINE:
        raise Conflict(f"{noun}_offline", f"{name} is offline right now; send a message instead.")
    if policy.decide(status, kind) == policy.HOLD:
        why = " (quiet hours)" if status.status_reason == "schedule" else ""
        raise Conflict(f"{noun}_dnd", f"{name} does not want to be disturbed right now{why}; send a message instead.")
    return status.status


def _engage(call: Call, *, on: bool) -> None:
    """Both people of an answered call are busy (`in_call`) until it ends; rows locked in id order."""
    for user in sorted((call.caller, call.callee), key=lambda u: u.id):
        presence_engagement_set(user=user, engagement="in_call", on=on, source=f"call.{call.id}")


def _busy_user_ids(user_ids: list[int], now: datetime) -> set[int]:
    """People among user_ids with a call that is ringing (not yet expired) or in progress."""
    return users_in_calls(user_ids=user_ids, now=now)


# -- calls -------------------------------------------------------------------------------------


def call_create(*, actor: User, callee_id: int, kind: str) -> Call:
    """Ring callee (`kind` one of Call.Kind, checked by CallIn): refused (409) when they are offline,
    in dnd (`callee_dnd`, also in their quiet hours), or either side is already in a call (`busy`).
    A busy callee (in a meeting, busy by hand) is rung quietly: `callee_status` says so."""
    if callee_id == actor.id:
        raise ServiceError("self_call", "You cannot call yourself.")
    callee = access_colleague(actor, callee_id)
    with transaction.atomic():
        # Both people's presence rows, locked in id order: two calls racing to ring the same person
        # queue here, and the second one sees the first as `busy`.
        for user in sorted((actor, callee), key=lambda u: u.id):
            presence_get_or_create(user)
        locked = {
            p.user_id: p
            for p in Presence.objects.select_for_update().filter(user_id__in=[actor.id, callee.id]).order_by("user_id")
        }
        callee_status = _reachable(locked.get(callee.id), callee.name, noun="callee", kind="call")
        now = timezone.now()
        busy = _busy_user_ids([actor.id, callee.id], now)
        if actor.id in busy:
            raise Conflict("busy", "You are already in a call; hang up or cancel it first.")
        if callee.id in busy:
            raise Conflict("busy", f"{callee.name} is already in a call; try again later.")
        call = Call.objects.create(
            company_id=company_id_of(actor),
            caller=actor,
            callee=callee,
            kind=kind,
            expires_at=now + timedelta(seconds=settings.CALL_RING_SECONDS),
            callee_status=callee_status,
        )
        call = _call(call.id)
        domain.call_changed.send(sender=Call, call=call, event_type="call.invited")
    return call


def _call_refusal(call_id: int) -> ServiceError:
    """Why a transition found the call no longer in the state it needed; expires it if it is overdue."""
    call = _call(call_id)
    if call.state == Call.State.RINGING and call.expires_at <= timezone.now():
        call_expire(call_id=call_id)
        call = _call(call_id)
    messages = {
        Call.State.RINGING: ("call_ringing", "This call has not been answered yet."),
        Call.State.ACCEPTED: ("already_accepted", "This call was already answered."),
        Call.State.DECLINED: ("call_declined", "This call was declined."),
        Call.State.CANCELLED: ("call_cancelled", f"{call.caller.name} cancelled this call."),
        Call.State.MISSED: ("call_expired", "This call rang out and was missed; call back instead."),
        Call.State.ENDED: ("call_ended", "This call has already ended."),
    }
    code, message = messages[Call.State(call.state)]
    return Conflict(code, message)


def _ringing_transition(*, actor: User, call: Call, role: str, state: str, event_type: str, stamp: str) -> Call:
    """ringing -> state, if still ringing and not yet expired; `stamp` is the time field it sets."""
    if role == "callee" and actor.id != call.callee_id:
        raise Forbidden("Only the person being called can answer or decline this call.", code="not_callee")
    if role == "caller" and actor.id != call.caller_id:
        raise Forbidden("Only the caller can cancel this call.", code="not_caller")
    now = timezone.now()
    with transaction.atomic():
        won = Call.objects.filter(pk=call.pk, state=Call.State.RINGING, expires_at__gt=now).update(
            state=state, **{stamp: now}
        )
        if won:
            call = _call(call.pk)
            if state == Call.State.ACCEPTED:
                _engage(call, on=True)
            domain.call_changed.send(sender=Call, call=call, event_type=event_type)
            return call
    raise _call_refusal(call.pk)


def call_accept(*, actor: User, call: Call) -> Call:
    return _ringing_transition(
        actor=actor, call=call, role="callee", state=Call.State.ACCEPTED, event_type="call.accepted",
        stamp="answered_at",
    )


def call_decline(*, actor: User, call: Call) -> Call:
    return _ringing_transition(
        actor=actor, call=call, role="callee", state=Call.State.DECLINED, event_type="call.declined", stamp="ended_at"
    )


def call_cancel(*, actor: User, call: Call) -> Call:
    return _ringing_transition(
        actor=actor, call=call, role="caller", state=Call.State.CANCELLED, event_type="call.cancelled", stamp="ended_at"
    )


def call_end(*, actor: User, call: Call) -> Call:
    """Hang up an answered call (either party); the duration is kept (`answered_at` .. `ended_at`)."""
    if actor.id not in (call.caller_id, call.callee_id):
        raise Forbidden("Only the two people in this call can end it.", code="not_party")
    with transaction.atomic():
        won = Call.objects.filter(pk=call.pk, state=Call.State.ACCEPTED).update(
            state=Call.State.ENDED, ended_at=timezone.now(), ended_by=actor
        )
        if won:
            call = _call(call.pk)
            _engage(call, on=False)
            domain.call_changed.send(sender=Call, call=call, event_type="call.ended")
            return call
    refusal = _call_refusal(call.pk)
    if refusal.code == "call_ringing":
        refusal = Conflict("call_not_active", "This call has not been answered; cancel or decline it instead.")
    raise refusal


def call_expire(*, call_id: int) -> bool:
    """Ringing past expires_at -> missed, once: True if this caller won the row (and announced it)."""
    with transaction.atomic():
        won = Call.objects.filter(pk=call_id, state=Call.State.RINGING, expires_at__lte=timezone.now()).update(
            state=Call.State.MISSED, ended_at=F("expires_at")
        )
        if not won:
            return False
        call = _call(call_id)
        _missed_call_note(call)
        domain.call_changed.send(sender=Call, call=call, event_type="call.missed")
    return True


def _missed_call_note(call: Call) -> None:
    """A system note in the caller and callee's direct conversation ("Missed voice call from ...")."""
    try:
        conversation, _ = messaging_services.direct_get_or_create(actor=call.caller, other_id=call.callee_id)
    except ServiceError:
        return  # one of them left the company meanwhile: no shared conversation to note it in
    messaging_services.system_message_post(
        conversation=conversation,
        event="call_missed",
        body=f"Missed {call.kind} call from {call.caller.name}",
        payload={"actor": call.caller_id, "call": call.id, "kind": call.kind, "callee": call.callee_id},
    )


def calls_expire() -> list[int]:
    """Mark every overdue ringing call missed; returns the ids this process won."""
    won: list[int] = []
    for _ in range(SWEEP_BATCH):
        with transaction.atomic():
            # SKIP LOCKED: another process sweeping (or an accept in flight) holds that row; not ours.
            call_id = (
                Call.objects.select_for_update(skip_locked=True)
                .filter(state=Call.State.RINGING, expires_at__lte=timezone.now())
                .order_by("expires_at")
                .values_list("id", flat=True)
                .first()
            )
            if call_id is None:
                break
            if call_expire(call_id=call_id):
                won.append(call_id)
    return won


def calls_end_for_user(*, user_id: int) -> list[int]:
    """The user went offline: end their answered calls and cancel the calls they are ringing out."""
    now = timezone.now()
    changed: list[int] = []
    with transaction.atomic():
        for call_id in Call.objects.filter(
            Q(caller_id=user_id) | Q(callee_id=user_id), state=Call.State.ACCEPTED
        ).values_list("id", flat=True):
            if Call.objects.filter(pk=call_id, state=Call.State.ACCEPTED).update(
                state=Call.State.ENDED, ended_at=now, ended_by_id=user_id
            ):
                call = _call(call_id)
                _engage(call, on=False)
                domain.call_changed.send(sender=Call, call=call, event_type="call.ended")
                changed.append(call_id)
        for call_id in Call.objects.filter(caller_id=user_id, state=Call.State.RINGING, expires_at__gt=now).values_list(
            "id", flat=True
        ):
            if Call.objects.filter(pk=call_id, state=Call.State.RINGING, expires_at__gt=now).update(
                state=Call.State.CANCELLED, ended_at=now
            ):
                domain.call_changed.send(sender=Call, call=_call(call_id), event_type="call.cancelled")
                changed.append(call_id)
    return changed


# -- teleports ---------------------------------------------------------------------------------


def teleport_create(*, actor: User, invitee_id: int, space_id: int | None = None) -> Teleport:
    """Invite a colleague into a space (default: where actor is); they have 60 s to accept."""
    if invitee_id == actor.id:
        raise ServiceError("self_invite", "You cannot invite yourself.")
    invitee = access_colleague(actor, invitee_id)
    with transaction.atomic():
        inviter_presence = Presence.objects.select_for_update().get(pk=presence_get_or_create(actor).pk)
        if space_id is None:
            if inviter_presence.current_space_id is None:
                raise Conflict(
                    "not_in_space", f"You are not in a space; enter one or name the space to invite {invitee.name} to."
                )
            space = Space.objects.get(pk=inviter_presence.current_space_id)
        else:
            space = access_space(actor, space_id)
        if not can_enter(actor, space):
            raise Conflict("space_private", f"{space.name} is private; you cannot invite people there.")
        if space.status == Space.Status.CLOSED:
            raise Conflict("space_closed", f"{space.name} is closed.")
        invitee_presence = presence_get_or_create(invitee)
        _reachable(invitee_presence, invitee.name, noun="invitee", kind="teleport")
        if invitee_presence.current_space_id == space.id:
            raise Conflict("already_there", f"{invitee.name} is already in {space.name}.")
        if not can_enter(invitee, space):
            raise Conflict("space_private", f"{space.name} is private and {invitee.name} may not enter it.")
        now = timezone.now()
        if teleport_pending(inviter=actor, invitee=invitee, now=now):
            raise Conflict("already_invited", f"You already invited {invitee.name}; wait for an answer.")
        teleport = Teleport.objects.create(
            company_id=company_id_of(actor),
            inviter=actor,
            invitee=invitee,
            space=space,
            expires_at=now + timedelta(seconds=settings.TELEPORT_EXPIRY_SECONDS),
        )
        teleport = _teleport(teleport.id)
        domain.teleport_changed.send(sender=Teleport, teleport=teleport, event_type="teleport.invited")
    return teleport


def _teleport_refusal(teleport_id: int) -> ServiceError:
    teleport = _teleport(teleport_id)
    if teleport.state == Teleport.State.PENDING and teleport.expires_at <= timezone.now():
        teleport_expire(teleport_id=teleport_id)
        teleport = _teleport(teleport_id)
    messages = {
        Teleport.State.PENDING: ("teleport_pending", "This invitation has not been answered yet."),
        Teleport.State.ACCEPTED: ("already_accepted", "This invitation was already accepted."),
        Teleport.State.DECLINED: ("teleport_declined", "This invitation was declined."),
        Teleport.State.EXPIRED: ("teleport_expired", "This invitation expired; ask for a new one."),
    }
    code, message = messages[Teleport.State(teleport.state)]
    return Conflict(code, message)


def teleport_accept(*, actor: User, teleport: Teleport) -> Teleport:
    """Move the invitee into the space; if the space is now full, closed or private to them, the 409
    from `space_enter` is the answer and the invitation stays pending (all in one transaction)."""
    if actor.id != teleport.invitee_id:
        raise Forbidden("Only the invited person can accept this invitation.", code="not_invitee")
    now = timezone.now()
    with transaction.atomic():
        won = Teleport.objects.filter(pk=teleport.pk, state=Teleport.State.PENDING, expires_at__gt=now).update(
            state=Teleport.State.ACCEPTED, answered_at=now
        )
        if won:
            teleport = _teleport(teleport.pk)
            space_services.space_enter(actor=actor, space=teleport.space, reason="teleport")
            domain.teleport_changed.send(sender=Teleport, teleport=teleport, event_type="teleport.accepted")
            return teleport
    raise _teleport_refusal(teleport.pk)


def teleport_decline(*, actor: User, teleport: Teleport) -> Teleport:
    if actor.id != teleport.invitee_id:
        raise Forbidden("Only the invited person can decline this invitation.", code="not_invitee")
    now = timezone.now()
    with transaction.atomic():
        won = Teleport.objects.filter(pk=teleport.pk, state=Teleport.State.PENDING, expires_at__gt=now).update(
            state=Teleport.State.DECLINED, answered_at=now
        )
        if won:
            teleport = _teleport(teleport.pk)
            domain.teleport_changed.send(sender=Teleport, teleport=teleport, event_type="teleport.declined")
            return teleport
    raise _teleport_refusal(teleport.pk)


def teleport_expire(*, teleport_id: int) -> bool:
    with transaction.atomic():
        won = Teleport.objects.filter(
            pk=teleport_id, state=Teleport.State.PENDING, expires_at__lte=timezone.now()
        ).update(state=Teleport.State.EXPIRED)
        if not won:
            return False
        domain.teleport_changed.send(sender=Teleport, teleport=_teleport(teleport_id), event_type="teleport.expired")
    return True


def teleports_expire() -> list[int]:
    won: list[int] = []
    for _ in range(SWEEP_BATCH):
        with transaction.atomic():
            teleport_id = (
                Teleport.objects.select_for_update(skip_locked=True)
                .filter(state=Teleport.State.PENDING, expires_at__lte=timezone.now())
                .order_by("expires_at")
                .values_list("id", flat=True)
                .first()
            )
            if teleport_id is None:
                break
            if teleport_expire(teleport_id=teleport_id):
                won.append(teleport_id)
    return won


def invitations_expire() -> dict[str, list[int]]:
    """The expiry sweep: one pass over overdue calls and teleports (see the module docstring)."""
    return {"calls": calls_expire(), "teleports": teleports_expire()}
