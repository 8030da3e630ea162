"""Where exports get built: a thread started in the process that queued one (right after commit), and
a sweep on every server process's hub that fails the builds a dead process left running and starts a
thread for exports nobody took (their process died before its thread ran). Rows are claimed with
SKIP LOCKED, so any number of threads and processes can run at once."""

from __future__ import annotations

import asyncio
import logging
import threading

from django.conf import settings
from django.db import connections

from exports import services
from exports.models import Export
from virtual_office.realtime import Hub, on_hub_start
from virtual_office.realtime.consumer import in_worker_pool

logger = logging.getLogger(__name__)


def _run_pending() -> None:
    try:
        services.exports_run_pending()
    except Exception:
        logger.exception("export builder stopped")
    finally:
        connections.close_all()  # this thread's connections (it ends now)


def start_builder() -> None:
    """Build what is queued in a thread of its own (not the hub's worker pool: a big export takes
    minutes)."""
    if settings.EXPORT_BUILD_IN_THREAD:
        threading.Thread(target=_run_pending, name="export-builder", daemon=True).start()


services.export_queued_hooks.append(start_builder)


def _sweep() -> bool:
    services.exports_fail_stale()
    return Export.objects.filter(status=Export.Status.QUEUED).exists()


@on_hub_start
async def sweep_exports(hub: Hub) -> None:
    while True:
        await asyncio.sleep(settings.EXPORT_SWEEP_SECONDS)
        if not settings.EXPORT_BUILD_IN_THREAD:
            continue  # a process that builds no exports (tests) sweeps none either
        try:
            if await in_worker_pool(_sweep)():
                start_builder()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("export sweep failed")
