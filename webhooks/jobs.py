"""The sender: one thread per process, woken when deliveries are queued and every
WEBHOOK_SWEEP_SECONDS anyway (retries come due by the clock). Every server process's hub starts it,
so retries go out even from a process that queued nothing; deliveries are claimed with SKIP LOCKED,
so the threads of several processes share the work."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

from virtual_office.realtime import Hub, on_hub_start
from webhooks import services

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_wake = threading.Event()
_thread: list[threading.Thread] = []


def _send_forever() -> None:
    while True:
        _wake.wait(timeout=settings.WEBHOOK_SWEEP_SECONDS)
        _wake.clear()
        try:
            services.deliveries_send_due()
        except Exception:
            logger.exception("webhook sender failed; trying again")
        finally:
            connections.close_all()  # not held between rounds


def wake_sender() -> None:
    """Start this process's sender if it is not running, and have it look for due deliveries now."""
    if not settings.WEBHOOK_SEND_IN_THREAD:
        return
    with _lock:
        if not _thread or not _thread[0].is_alive():
            thread = threading.Thread(target=_send_forever, name="webhook-sender", daemon=True)
            _thread[:] = [thread]
            thread.start()
    _wake.set()


services.deliveries_queued_hooks.append(wake_sender)


@on_hub_start
async def start_sender(hub: Hub) -> None:
    wake_sender()
