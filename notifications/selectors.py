"""Reads of notifications (the inbox, the unread count) and what making them needs to know: who is
watching a conversation right now, and the direct conversation of two people."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from django.db.models import QuerySet

from messaging.models import Conversation
from notifications.models import Notification
from virtual_office import shared_state
from virtual_office.errors import is_unavailable
from virtual_office.models import User

logger = logging.getLogger(__name__)

LIST_LIMIT = 100


def notification_list(
    *, user: User, unread: bool = False, limit: int = 50, before: int | None = None
) -> list[Notification]:
    """My notifications, newest first (keyset on id: `before`), with their message loaded: one query."""
    qs: QuerySet[Notification] = Notification.objects.filter(recipient=user).select_related("message")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return list(qs.order_by("-id")[: max(1, min(limit, LIST_LIMIT))])


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def direct_conversation_id(user_a: int, user_b: int, company_id: int) -> int | None:
    low, high = sorted((user_a, user_b))
    return (
        Conversation.objects.filter(company_id=company_id, kind=Conversation.Kind.DIRECT, direct_key=f"{low}:{high}")
        .values_list("id", flat=True)
        .first()
    )


async def watching_user_ids_now(conversation_id: int) -> set[int]:
    """Who has a tab watching the conversation now, on any server process (conversation presence,
    `watch` / `unwatch`): one round trip, from the event loop where the shared state's connections
    live. If it cannot be asked (Redis away), nobody counts as watching: a notification too many beats
    one missed."""
    try:
        return set(await shared_state.watchers(conversation_id))
    except Exception as error:
        if not is_unavailable(error):
            raise
        logger.warning("notifications: watchers of conversation %s unknown (%r)", conversation_id, error)
        return set()


def watching_user_ids(conversation_id: int) -> set[int]:
    """`watching_user_ids_now` from synchronous code (a command, a test; the server asks on its loop)."""
    return _run_async(watching_user_ids_now, conversation_id)


def _run_async(function: Callable[[int], Awaitable[set[int]]], conversation_id: int) -> set[int]:
    """`async_to_sync`, also from a thread whose event loop is running (it refuses there): then from a
    short-lived thread of its own."""
    try:
        return async_to_sync(function)(conversation_id)
    except RuntimeError as error:
        if "event loop" not in str(error):
            raise
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = async_to_sync(function)(conversation_id)
        except BaseException as failure:  # handed back to the caller below
            result["error"] = failure

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=10)
    if "error" in result:
        raise result["error"]
    return result.get("value", set())
