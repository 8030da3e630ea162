"""Writes to presence: the chosen status, and the socket bookkeeping that derives `offline`.

A user is connected while at least one `Connection` row with a fresh heartbeat exists, on any server
process. When the last one goes (closed, or its process stopped heartbeating), after a grace period
the user becomes offline and leaves their space.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from presence.domain import went_offline
from presence.models import CompanyIdlePolicy, Connection, Presence, QuietHours
from presence.status import ENGAGEMENTS, idle_after, is_idle, quiet_window_end
from virtual_office.errors import ServiceError
from virtual_office.models import User
from virtual_office.realtime import realtime_setting

SETTABLE = {choice.value for choice in Presence.Status}


class Unset:
    """A value the caller did not give (`status_until=None` means "no expiry", so None cannot say it)."""


UNSET = Unset()


def presence_get_or_create(user: User) -> Presence:
    presence, _ = Presence.objects.get_or_create(user=user)
    return presence


def _locked(user: User) -> Presence:
    presence = presence_get_or_create(user)
    return Presence.objects.select_for_update(of=("self",)).select_related("user").get(pk=presence.pk)


def presence_set_status(
    *,
    actor: User,
    status: str | None = None,
    status_text: str | None = None,
    status_emoji: str | None = None,
    status_until: datetime | None | Unset = UNSET,
) -> Presence:
    """Set what the person chose by hand; whatever is not given stays as it is.

    `away`, `busy`, `dnd` are a manual status (it wins over every automatic state); `online` clears
    it. `status_until` ends the manual status and the text and emoji together (None: no end)."""
    if status is not None and status not in SETTABLE:
        raise ServiceError(
            "invalid_status", f"status must be one of {', '.join(sorted(SETTABLE))}; offline follows from your sockets."
        )
    now = timezone.now()
    if isinstance(status_until, datetime) and status_until <= now:
        raise ServiceError("invalid_until", "status_until must be in the future.")
    with transaction.atomic():
        presence = _locked(actor)
        before = _chosen(presence)
        if presence.status_until is not None and presence.status_until <= now:
            _clear_manual(presence)  # it ended already (the refresh job had not got to it yet)
        if status is not None:
            presence.status = status
        if status_text is not None:
            presence.status_text = status_text.strip()
        if status_emoji is not None:
            presence.status_emoji = status_emoji.strip()
        if not isinstance(status_until, Unset):
            presence.status_until = status_until
        if presence.status == Presence.Status.ONLINE and not presence.status_text and not presence.status_emoji:
            presence.status_until = None  # nothing left for it to end
        if _chosen(presence) != before:
            presence.save(update_fields=[*CHOSEN_FIELDS, "updated_at"])
    return presence


CHOSEN_FIELDS = ["status", "status_text", "status_emoji", "status_until"]


def _chosen(presence: Presence) -> tuple:
    return tuple(getattr(presence, name) for name in CHOSEN_FIELDS)


def _clear_manual(presence: Presence) -> None:
    presence.status = Presence.Status.ONLINE
    presence.status_text = ""
    presence.status_emoji = ""
    presence.status_until = None


def presence_engagement_set(*, user: User, engagement: str, on: bool, source: str = "") -> Presence:
    """The layers above tell presence what someone is engaged in: `in_call` (an accepted call, later
    a space's talk), `in_meeting` (the space they are in holds a meeting). An engagement holds while
    any of its sources is on (`source` names it: "call.12", "space"), so two of them overlapping
    end one at a time. Changes are announced as every presence change (`presence.updated`)."""
    if engagement not in ENGAGEMENTS:
        raise ValueError(f"unknown engagement {engagement!r}; one of {', '.join(ENGAGEMENTS)}")
    with transaction.atomic():
        presence = _locked(user)
        engagements = {name: list(sources) for name, sources in (presence.engagements or {}).items()}
        sources = engagements.get(engagement, [])
        if on and source not in sources:
            sources = sorted([*sources, source])
        elif not on and source in sources:
            sources = [s for s in sources if s != source]
        else:
            return presence
        if sources:
            engagements[engagement] = sources
        else:
            engagements.pop(engagement, None)
        presence.engagements = engagements
        presence.save(update_fields=["engagements", "updated_at"])
    return presence


def presence_activity(*, user_ids: Collection[int], at: datetime) -> list[int]:
    """Someone did something in one of their tabs (an action, or the page's `activity`): one UPDATE
    for everyone given; those shown idle are saved (so announced) as active again. Returns them."""
    if not user_ids:
        return []
    ids = list(user_ids)
    Presence.objects.filter(user_id__in=ids).filter(Q(last_activity__isnull=True) | Q(last_activity__lt=at)).update(
        last_activity=at
    )
    woke: list[int] = []
    for user_id in Presence.objects.filter(user_id__in=ids, idle=True).values_list("user_id", flat=True):
        with transaction.atomic():
            presence = Presence.objects.select_for_update(of=("self",)).filter(user_id=user_id, idle=True).first()
            if presence is None:
                continue
            presence.idle = False
            presence.save(update_fields=["idle", "updated_at"])
            woke.append(user_id)
    return woke


def presence_refresh(*, user_ids: Collection[int]) -> list[int]:
    """Announce the states that begin or end by the clock alone, for the connected people among
    `user_ids` (each process asks for its own sockets' people): idle, quiet hours, a manual status
    reaching its `status_until`. The truth is computed on every read anyway (presence.status); this
    saves what was announced when it no longer matches, so others hear of it. Returns who changed."""
    if not user_ids:
        return []
    now = timezone.now()
    cutoff = now - idle_after()
    activity = Coalesce("last_activity", "last_seen")
    rows = (
        Presence.objects.filter(user_id__in=list(user_ids), connected=True)
        .alias(activity=activity)
        .filter(
            Q(idle=False, activity__lte=cutoff, idle_seconds__isnull=True)
            | Q(idle=False, idle_seconds__isnull=False)  # the company's own idle time: decided below
            | Q(idle=True) & (Q(activity__gt=cutoff) | Q(activity__isnull=True))
            | Q(status_until__lte=now)
            | Q(quiet_until__isnull=False)
            | Q(user__quiet_hours__isnull=False)
        )
        .select_related("user__quiet_hours")
    )
    # Without locks first: most people with quiet hours are as announced; only the others are locked.
    stale = [p.user_id for p in rows if _refreshed(p, _schedule_of(p.user), now)]
    changed: list[int] = []
    for user_id in stale:
        with transaction.atomic():
            presence = (
                Presence.objects.select_for_update(of=("self",)).select_related("user").filter(user_id=user_id).first()
            )
            if presence is None or not presence.connected:
                continue
            fields = _refreshed(presence, QuietHours.objects.filter(user_id=user_id).first(), now)
            if fields:
                presence.save(update_fields=[*fields, "updated_at"])
                changed.append(user_id)
    return changed


def _schedule_of(user: User) -> QuietHours | None:
    try:
        return user.quiet_hours
    except QuietHours.DoesNotExist:
        return None


def _refreshed(presence: Presence, schedule: QuietHours | None, now: datetime) -> list[str]:
    """Bring the announced clock states of `presence` up to date; the fields that changed."""
    fields: list[str] = []
    if presence.status_until is not None and presence.status_until <= now:
        _clear_manual(presence)
        fields += CHOSEN_FIELDS
    idle = is_idle(presence, now)
    if presence.idle != idle:
        presence.idle = idle
        fields.append("idle")
    quiet_until = quiet_window_end(schedule, now)
    if presence.quiet_until != quiet_until:
        presence.quiet_until = quiet_until
        fields.append("quiet_until")
    return fields


def company_idle_set(*, company_id: int, idle_seconds: int | None) -> int:
    """A company's own idle time (None: the server's PRESENCE_IDLE_SECONDS again), for everyone in it
    now and whoever joins later. Each process' refresh job announces who becomes idle or active by it.
    Returns how many people it applies to."""
    with transaction.atomic():
        if idle_seconds is None:
            CompanyIdlePolicy.objects.filter(company_id=company_id).delete()
        else:
            CompanyIdlePolicy.objects.update_or_create(company_id=company_id, defaults={"idle_seconds": idle_seconds})
        return Presence.objects.filter(user__company_id=company_id).update(idle_seconds=idle_seconds)


# -- quiet hours -------------------------------------------------------------------------------


def quiet_hours_set(*, actor: User, timezone_name: str, days: list[int], start: time, end: time) -> QuietHours | None:
    """Set my weekly quiet hours (validated by QuietHoursIn); `days: []` removes them."""
    if not days:
        quiet_hours_delete(actor=actor)
        return None
    with transaction.atomic():
        schedule, _ = QuietHours.objects.update_or_create(
            user=actor, defaults={"timezone": timezone_name, "days": sorted(set(days)), "start": start, "end": end}
        )
        _quiet_now(actor, schedule)
    return schedule


def quiet_hours_delete(*, actor: User) -> None:
    with transaction.atomic():
        QuietHours.objects.filter(user=actor).delete()
        _quiet_now(actor, None)


def _quiet_now(user: User, schedule: QuietHours | None) -> None:
    """A changed schedule shows at once, not at the refresh job's next turn."""
    presence = _locked(user)
    quiet_until = quiet_window_end(schedule, timezone.now())
    if presence.quiet_until != quiet_until:
        presence.quiet_until = quiet_until
        presence.save(update_fields=["quiet_until", "updated_at"])


def connection_open(*, user: User, channel_name: str, server_id: str) -> Presence:
    now = timezone.now()
    with transaction.atomic():
        Connection.objects.update_or_create(
            channel_name=channel_name, defaults={"user": user, "server_id": server_id, "heartbeat_at": now}
        )
        presence = presence_get_or_create(user)
        presence = Presence.objects.select_for_update().get(pk=presence.pk)
        if not presence.connected:
            presence.connected = True
            presence.last_seen = presence.last_activity = now  # coming online is activity
            presence.idle = False
            presence.quiet_until = quiet_window_end(QuietHours.objects.filter(user_id=user.id).first(), now)
            presence.save(update_fields=[*COMING_ONLINE_FIELDS, "updated_at"])
    return presence


# What coming online writes: shown right from the first presence.updated (quiet hours included).
COMING_ONLINE_FIELDS = ["connected", "last_seen", "last_activity", "idle", "quiet_until"]


def connections_open(*, server_id: str, sockets: list[tuple[User, str]]) -> list[Presence | Exception]:
    """Rows for many sockets that just opened (`(user, channel_name)`), and `connected` for their
    people: a few statements and one transaction however many sockets (a reconnect storm opens
    thousands at once). Only people who were offline get a presence change, and so an event each.
    Returns each socket's presence, in order. If one of them cannot be written (a user deleted
    meanwhile), each socket is tried on its own and that one alone gets the error."""
    if not sockets:
        return []
    try:
        return _connections_open(server_id, sockets)
    except IntegrityError:
        results: list[Presence | Exception] = []
        for user, channel_name in sockets:
            try:
                results.append(connection_open(user=user, channel_name=channel_name, server_id=server_id))
            except IntegrityError as exc:
                results.append(exc)
        return results


def _connections_open(server_id: str, sockets: list[tuple[User, str]]) -> list[Presence | Exception]:
    now = timezone.now()
    users = {user.id: user for user, _ in sockets}
    with transaction.atomic():
        Connection.objects.bulk_create(
            [Connection(channel_name=c, user_id=u.id, server_id=server_id, heartbeat_at=now) for u, c in sockets],
            update_conflicts=True,
            unique_fields=["channel_name"],
            update_fields=["user", "server_id", "heartbeat_at"],
        )
        Presence.objects.bulk_create([Presence(user_id=user_id) for user_id in users], ignore_conflicts=True)
        # Locked in one order by every process, so two batches never wait on each other in a circle.
        rows = {
            p.user_id: p
            for p in Presence.objects.select_for_update().filter(user_id__in=list(users)).order_by("user_id")
        }
        coming = [user_id for user_id, presence in rows.items() if not presence.connected]
        schedules = {q.user_id: q for q in QuietHours.objects.filter(user_id__in=coming)} if coming else {}
        for user_id, presence in rows.items():
            presence.user = users[user_id]  # the event's company comes from here, not a query
            if not presence.connected:
                presence.connected = True
                presence.last_seen = presence.last_activity = now  # coming online is activity
                presence.idle = False
                presence.quiet_until = quiet_window_end(schedules.get(user_id), now)
                presence.save(update_fields=[*COMING_ONLINE_FIELDS, "updated_at"])
    return [rows[user.id] for user, _ in sockets]


def connections_close(*, sockets: dict[str, int]) -> None:
    """End the rows of closed sockets (`channel_name -> user_id`) and stamp their people's last_seen:
    two statements however many sockets closed (a reconnect storm closes thousands at once)."""
    if not sockets:
        return
    Connection.objects.filter(channel_name__in=list(sockets)).delete()
    Presence.objects.filter(user_id__in=set(sockets.values())).update(last_seen=timezone.now())


def stale_after() -> timedelta:
    """A connection row whose process has not heartbeated for this long belongs to a dead process."""
    return timedelta(seconds=realtime_setting("PRESENCE_STALE_SECONDS"))


def live_connection_exists(user_id: int) -> bool:
    return Connection.objects.filter(user_id=user_id, heartbeat_at__gte=timezone.now() - stale_after()).exists()


def presence_settle(*, user_id: int) -> Presence | None:
    """After a socket closed (and the grace period passed): offline if no live socket remains."""
    with transaction.atomic():
        # Lock the presence row only: FOR UPDATE on the joined user row would block every insert that
        # references the user (a message they send) while we wait for their room's lock: a deadlock.
        presence = (
            Presence.objects.select_for_update(of=("self",)).select_related("user").filter(user_id=user_id).first()
        )
        if presence is None or not presence.connected or live_connection_exists(user_id):
            return presence
        presence.connected = False
        presence.last_seen = timezone.now()
        presence.save(update_fields=["connected", "last_seen", "updated_at"])
        went_offline.send(sender=Presence, user=presence.user, presence=presence)
    return presence


def presence_settle_many(*, user_ids: list[int]) -> list[int]:
    """Settle many people at once: one query finds those still connected with no live socket;
    only they get a transaction each (after a reconnect storm that is nobody). Returns who went
    offline."""
    cutoff = timezone.now() - stale_after()
    live = Connection.objects.filter(user_id__in=user_ids, heartbeat_at__gte=cutoff).values("user_id")
    candidates = list(
        Presence.objects.filter(user_id__in=user_ids, connected=True)
        .exclude(user_id__in=live)
        .values_list("user_id", flat=True)
    )
    return [user_id for user_id in candidates if (p := presence_settle(user_id=user_id)) and not p.connected]


def connections_heartbeat(*, server_id: str, sockets: dict[str, int]) -> list[str]:
    """Bump the rows of one process' open sockets (`channel_name -> user_id`) in one UPDATE.

    A row that is missing although its socket is open (another process swept it while this one was
    stalled past `stale_after()`) is written again and its user is connected again. Returns the
    channel names that had to be restored."""
    if not sockets:
        return []
    now = timezone.now()
    updated = Connection.objects.filter(server_id=server_id, channel_name__in=list(sockets)).update(heartbeat_at=now)
    if updated == len(sockets):
        return []
    present = set(Connection.objects.filter(channel_name__in=list(sockets)).values_list("channel_name", flat=True))
    restored = []
    for channel_name, user_id in sockets.items():
        if channel_name in present:
            continue
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            continue  # deactivated or deleted: close_revoked_sockets closes that socket
        try:
            connection_open(user=user, channel_name=channel_name, server_id=server_id)
        except IntegrityError:
            continue
        restored.append(channel_name)
    return restored


def connection_servers() -> dict[str, datetime]:
    """Server processes holding connection rows -> the newest heartbeat among their rows."""
    rows = Connection.objects.values("server_id").annotate(newest=Max("heartbeat_at"))
    return {row["server_id"]: row["newest"] for row in rows}


def connections_sweep(*, dead_servers: Collection[str] = ()) -> list[int]:
    """Remove connections of processes known dead (their heartbeat in Redis expired) or that stopped
    heartbeating their rows; settle their users (offline unless they have a socket elsewhere)."""
    cutoff = timezone.now() - stale_after()
    stale = Connection.objects.filter(Q(heartbeat_at__lt=cutoff) | Q(server_id__in=list(dead_servers)))
    user_ids = set(stale.values_list("user_id", flat=True))
    stale.delete()
    # Connected with no connection row at all (every process that held one was stopped).
    live = Connection.objects.filter(heartbeat_at__gte=cutoff).values("user_id")
    user_ids |= set(
        Presence.objects.filter(connected=True, updated_at__lt=cutoff)
        .exclude(user_id__in=live)
        .values_list("user_id", flat=True)
    )
    settled = sorted(user_ids)
    for user_id in settled:
        presence_settle(user_id=user_id)
    return settled
