"""Writes to presence: the chosen status, and the socket bookkeeping that derives `offline`.

A user is connected while at least one `Connection` row with a fresh heartbeat exists, on any server
process. When the last one goes (closed, or its process stopped heartbeating), after a grace period
the user becomes offline and leaves their space.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from presence.models import Connection, Presence
from virtual_office.errors import ServiceError
from virtual_office.models import User

# A connection row whose process has not heartbeated for this long is dead.
STALE_AFTER = timedelta(seconds=60)
SETTABLE = {choice.value for choice in Presence.Status}


def presence_for(user: User) -> Presence:
    presence, _ = Presence.objects.get_or_create(user=user)
    return presence


def presence_set_status(*, actor: User, status: Any) -> Presence:
    if status not in SETTABLE:
        raise ServiceError(
            "invalid_status", f"status must be one of {', '.join(sorted(SETTABLE))}; offline follows from your sockets."
        )
    with transaction.atomic():
        presence = presence_for(actor)
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
        presence = presence_for(user)
        presence = Presence.objects.select_for_update().get(pk=presence.pk)
        if not presence.connected:
            presence.connected = True
            presence.last_seen = now
            presence.save(update_fields=["connected", "last_seen", "updated_at"])
    return presence


def connection_close(*, user_id: int, channel_name: str) -> None:
    Connection.objects.filter(channel_name=channel_name).delete()
    Presence.objects.filter(user_id=user_id).update(last_seen=timezone.now())


def live_connection_exists(user_id: int) -> bool:
    return Connection.objects.filter(user_id=user_id, heartbeat_at__gte=timezone.now() - STALE_AFTER).exists()


def presence_settle(*, user_id: int) -> Presence | None:
    """After a socket closed (and the grace period passed): offline if no live socket remains."""
    from spaces import services as space_services

    with transaction.atomic():
        presence = Presence.objects.select_for_update().select_related("user").filter(user_id=user_id).first()
        if presence is None or not presence.connected or live_connection_exists(user_id):
            return presence
        presence.connected = False
        presence.last_seen = timezone.now()
        presence.save(update_fields=["connected", "last_seen", "updated_at"])
        if presence.current_space_id is not None:
            space_services.space_leave(actor=presence.user, reason="offline")
    return presence


def connections_heartbeat(*, server_id: str, channel_names: list[str]) -> None:
    Connection.objects.filter(server_id=server_id, channel_name__in=channel_names).update(heartbeat_at=timezone.now())


def connections_sweep() -> list[int]:
    """Remove connections of processes that stopped heartbeating; settle their users."""
    cutoff = timezone.now() - STALE_AFTER
    stale = Connection.objects.filter(heartbeat_at__lt=cutoff)
    user_ids = set(stale.values_list("user_id", flat=True))
    stale.delete()
    # Connected with no connection row at all (every process that held one was stopped).
    live = Connection.objects.filter(heartbeat_at__gte=cutoff).values("user_id")
    user_ids |= set(
        Presence.objects.filter(connected=True, updated_at__lt=cutoff).exclude(user_id__in=live).values_list("user_id", flat=True)
    )
    user_ids = sorted(user_ids)
    for user_id in user_ids:
        presence_settle(user_id=user_id)
    return user_ids
