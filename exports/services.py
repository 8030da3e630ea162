"""Every write of exports: asking for one, claiming a queued one (any process may: rows are claimed
with SKIP LOCKED, so two processes never build the same export), building it with its progress, and
failing the ones a dead process left running."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from exports import archive
from exports.models import Export
from virtual_office.errors import Conflict, Forbidden
from virtual_office.models import User
from virtual_office.tenancy import company_id_of

logger = logging.getLogger(__name__)

# Called after the commit of a new export: starts its build (exports.jobs sets it; tests build by hand).
export_queued_hooks: list[Callable[[], None]] = []


def export_request(*, actor: User, scope: str) -> Export:
    """Queue an export: the company's (company admins only) or the actor's own messages (anyone)."""
    company_id = company_id_of(actor)
    if scope == Export.Scope.COMPANY and not actor.is_company_admin:
        raise Forbidden("Only company admins can export the company's data.")
    with transaction.atomic():
        # One at a time per person and scope: the lock on the person's row orders two clicks.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        busy = Export.objects.filter(
            requested_by=actor, scope=scope, status__in=[Export.Status.QUEUED, Export.Status.RUNNING]
        ).exists()
        if busy:
            raise Conflict("export_in_progress", "An export of yours is already being built.")
        export = Export.objects.create(company_id=company_id, requested_by=actor, scope=scope)
        for hook in export_queued_hooks:
            transaction.on_commit(hook, robust=True)
    return export


def export_claim_next() -> Export | None:
    """Take the oldest queued export for this process, marked running (None when none is waiting)."""
    with transaction.atomic():
        export = (
            Export.objects.select_for_update(skip_locked=True)
            .filter(status=Export.Status.QUEUED)
            .order_by("id")
            .first()
        )
        if export is None:
            return None
        now = timezone.now()
        export.status = Export.Status.RUNNING
        export.started_at = export.heartbeat_at = now
        export.progress = 0
        export.save(update_fields=["status", "started_at", "heartbeat_at", "progress"])
    return export


def export_build(export: Export) -> Export:
    """Write the zip of a claimed (running) export, telling its progress as it goes; a failure marks
    it failed (the error's kind is kept, the details go to the log)."""
    try:
        requester = User.objects.select_related("company").get(pk=export.requested_by_id)
        if export.scope == Export.Scope.COMPANY:
            total = archive.company_total(export.company_id)
        else:
            total = archive.mine_total(requester)
        last = {"progress": 0}

        def progress(rows: int) -> None:
            percent = min(99, rows * 100 // max(total, 1))
            # Every chunk bumps the heartbeat; the progress only moves forward.
            if percent > last["progress"]:
                last["progress"] = percent
            Export.objects.filter(pk=export.pk).update(progress=last["progress"], heartbeat_at=timezone.now())

        with tempfile.TemporaryFile(suffix=".zip") as target:
            writer = archive.ZipWriter(target, progress)
            try:
                if export.scope == Export.Scope.COMPANY:
                    archive.write_company(writer, requester.company)  # type: ignore[arg-type]
                else:
                    archive.write_mine(writer, requester)
            finally:
                writer.close()  # also after a failure: the zip's file handle is released now
            target.seek(0)
            export.file.save(f"{uuid.uuid4().hex}.zip", File(target), save=False)
    except Exception as error:
        logger.exception("export %s failed", export.pk)
        export.status = Export.Status.FAILED
        export.error = type(error).__name__[:200]
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        return export
    export.status = Export.Status.DONE
    export.progress = 100
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "progress", "file", "finished_at"])
    return export


def exports_run_pending() -> int:
    """Build queued exports until none is left; the number built."""
    built = 0
    while (export := export_claim_next()) is not None:
        export_build(export)
        built += 1
    return built


def exports_fail_stale() -> int:
    """Mark failed the running exports whose build stopped telling its progress (its process died)."""
    stale_before = timezone.now() - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    return Export.objects.filter(status=Export.Status.RUNNING, heartbeat_at__lt=stale_before).update(
        status=Export.Status.FAILED, error="abandoned", finished_at=timezone.now()
    )
