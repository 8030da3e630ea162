"""Reads of calls and teleport invitations: a person's history, who is in a call, and the check
behind call.signal."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from calling.models import Call, Teleport
from virtual_office.models import User
from virtual_office.tenancy import of_company

HISTORY_LIMIT = 100


def call_list(*, user: User, limit: int = 50, before: int | None = None) -> list[Call]:
    """My calls, made and received, newest first; keyset paging by id (`before`). One query."""
    qs = (
        of_company(Call.objects.filter(Q(caller=user) | Q(callee=user)), user)
        .select_related("caller", "callee")
        .order_by("-id")
    )
    if before is not None:
        qs = qs.filter(id__lt=before)
    return list(qs[: max(1, min(limit, HISTORY_LIMIT))])


def call_get(*, call_id: int) -> Call:
    return Call.objects.select_related("caller", "callee").get(pk=call_id)


def signal_peer(*, call_id: int, user_id: int) -> tuple[int, int, str] | None:
    """(caller_id, callee_id, state) of a call this person is a party to, else None."""
    return (
        Call.objects.filter(Q(caller_id=user_id) | Q(callee_id=user_id), pk=call_id)
        .values_list("caller_id", "callee_id", "state")
        .first()
    )


def teleport_list(*, user: User, limit: int = 50) -> QuerySet[Teleport]:
    """Invitations I sent or received, newest first."""
    return (
        of_company(Teleport.objects.filter(Q(inviter=user) | Q(invitee=user)), user)
        .select_related("inviter", "invitee", "space")
        .order_by("-id")[: max(1, min(limit, HISTORY_LIMIT))]
    )


def next_expiry() -> datetime | None:
    """The soonest `expires_at` among invitations still waiting (the sweeper wakes up for it)."""
    now = timezone.now()
    soonest = [
        Call.objects.filter(state=Call.State.RINGING, expires_at__gt=now).aggregate(at=Min("expires_at"))["at"],
        Teleport.objects.filter(state=Teleport.State.PENDING, expires_at__gt=now).aggregate(at=Min("expires_at"))["at"],
    ]
    return min((at for at in soonest if at is not None), default=None)


def users_in_calls(*, user_ids: Iterable[int], now: datetime | None = None) -> set[int]:
    """The people among `user_ids` with a call ringing (not yet expired) or in progress: they can
    neither call nor be called (call_create refuses with `busy`; the avatar menu says why)."""
    wanted = set(user_ids)
    now = now if now is not None else timezone.now()
    live = Call.objects.filter(Q(state=Call.State.ACCEPTED) | Q(state=Call.State.RINGING, expires_at__gt=now))
    rows = live.filter(Q(caller_id__in=wanted) | Q(callee_id__in=wanted)).values_list("caller_id", "callee_id")
    return {user_id for pair in rows for user_id in pair} & wanted


def teleport_pending(*, inviter: User, invitee: User, now: datetime | None = None) -> bool:
    """Whether `inviter` already invited `invitee` and is still waiting for an answer."""
    now = now if now is not None else timezone.now()
    return Teleport.objects.filter(
        inviter=inviter, invitee=invitee, state=Teleport.State.PENDING, expires_at__gt=now
    ).exists()
