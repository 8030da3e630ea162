"""Writes to presence: the chosen status, and the socket bookkeeping that derives `offline`.

A user is connected while at least one `Connection` row with a fresh heartbeat exists, on any server
process. When the last one goes (closed, or its process stopped heartbeating), after a grace period
the user becomes offline and leaves their space.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from presence.domain import went_offline
from presence.models import Connection, Presence
from virtual_office.errors import ServiceError
from virtual_office.models import User
from virtual_office.realtime import realtime_setting

SETTABLE = {choice.value for choice in Presence.Status}


def presence_get_or_create(user: User) -> Presence:
    presence, _ = Presence.objects.get_or_create(user=user)
    return presence


def presence_set_status(*, actor: User, status: str) -> Presence:
    if status not in SETTABLE:
        raise ServiceError(
            "invalid_status", f"status must be one of {', '.join(sorted(SETTABLE))}; offline follows from your sockets."
        )
    with transaction.atomic():
        presence = presence_get_or_create(actor)
        presence = Presence.objects.select_for_update().get(pk=presence.pk)
        if presence.status != status:
            presence.status = status
            presence.save(update_fields=["status", "updated_at"])
    return presence


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
            presence.last_seen = now
            presence.save(update_fields=["connected", "last_seen", "updated_at"])
    return presence


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
        for user_id, presence in rows.items():
            presence.user = users[user_id]  # the event's company comes from here, not a query
            if not presence.connected:
                presence.connected = True
                presence.last_seen = now
                presence.save(update_fields=["connected", "last_seen", "updated_at"])
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
