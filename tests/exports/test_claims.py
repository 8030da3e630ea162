"""Two builders in two connections (as two worker processes): SKIP LOCKED gives each a different
queued export, never the same one twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from exports import services
from exports.models import Export
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_two_processes_claim_different_exports(company):
    first, second = (UserFactory(company=company, is_company_admin=True) for _ in range(2))
    services.export_request(actor=first, scope="company")
    services.export_request(actor=second, scope="company")
    claimed: list[int] = []
    holding = threading.Event()
    release = threading.Event()

    def hold_first_claim() -> None:
        try:
            with transaction.atomic():
                row = Export.objects.select_for_update(skip_locked=True).filter(status="queued").order_by("id").first()
                claimed.append(row.pk)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_first_claim)
    thread.start()
    assert holding.wait(10)
    other = services.export_claim_next()
    release.set()
    thread.join(10)
    assert other is not None and other.pk != claimed[0]
