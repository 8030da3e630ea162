"""Concurrent transitions on real PostgreSQL rows: the conditional UPDATEs let exactly one side win."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calling import services
from calling.models import Call
from messaging.models import Message
from spaces import services as space_services
from spaces.models import Space
from tests.calling.conftest import set_presence
from tests.factories import CompanyFactory, UserFactory
from virtual_office.errors import ServiceError

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def race(*fns: Callable[[], object]) -> list[object]:
    """Run fns at the same moment, each in its own thread (own connection); results or exceptions."""
    barrier = threading.Barrier(len(fns))
    results: list[object] = [None] * len(fns)

    def run(i: int, fn: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def people():
    company = CompanyFactory()
    users = [UserFactory(company=company) for _ in range(4)]
    for user in users:
        set_presence(user)
    return users


def codes(results: list[object]) -> list[str]:
    return sorted(r.code if isinstance(r, ServiceError) else "ok" for r in results)


@pytest.mark.parametrize("attempt", range(3))
def test_double_accept_one_wins(people, attempt):
    caller, callee = people[:2]
    call = services.call_create(actor=caller, callee_id=callee.id, kind="voice")
    results = race(*[lambda: services.call_accept(actor=callee, call=call)] * 4)
    assert codes(results) == ["already_accepted"] * 3 + ["ok"]


@pytest.mark.parametrize("attempt", range(3))
def test_accept_against_cancel_one_wins(people, attempt):
    caller, callee = people[:2]
    call = services.call_create(actor=caller, callee_id=callee.id, kind="voice")
    accepted, cancelled = race(
        lambda: services.call_accept(actor=callee, call=call), lambda: services.call_cancel(actor=caller, call=call)
    )
    call.refresh_from_db()
    if call.state == "accepted":
        assert accepted.state == "accepted" and cancelled.code == "already_accepted"
    else:
        assert call.state == "cancelled" and cancelled.state == "cancelled" and accepted.code == "call_cancelled"


def test_accept_against_expiry_one_wins(people):
    caller, callee = people[:2]
    outcomes = set()
    for _ in range(6):
        call = services.call_create(actor=caller, callee_id=callee.id, kind="voice")
        Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() + timedelta(milliseconds=30))
        accept, sweep = race(
            lambda call=call: services.call_accept(actor=callee, call=call),
            lambda: [services.invitations_expire() for _ in range(50)],
        )
        call.refresh_from_db()
        outcomes.add(call.state)
        notes = Message.objects.filter(system__event="call_missed", system__call=call.pk).count()
        if call.state == "accepted":
            assert not isinstance(accept, Exception) and notes == 0
            services.call_end(actor=caller, call=call)
        else:
            assert call.state == "missed" and accept.code == "call_expired" and notes == 1
    assert outcomes <= {"accepted", "missed"}


def test_two_ringers_for_one_callee(people):
    a, b, callee = people[:3]
    results = race(
        lambda: services.call_create(actor=a, callee_id=callee.id, kind="voice"),
        lambda: services.call_create(actor=b, callee_id=callee.id, kind="voice"),
    )
    assert codes(results) == ["busy", "ok"]
    assert Call.objects.filter(callee=callee, state="ringing").count() == 1


def test_parallel_sweeps_announce_each_call_once(people, monkeypatch):
    """Two server processes sweeping at once: every overdue call is won by exactly one of them."""
    from virtual_office.realtime import publish as realtime

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "send_now", lambda group, message: sent.append((group, message)))
    caller, callee = people[:2]
    ids = []
    for _ in range(12):
        call = services.call_create(actor=caller, callee_id=callee.id, kind="voice")
        Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        ids.append(call.pk)
    first, second = race(lambda: services.calls_expire(), lambda: services.calls_expire())
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)
    missed = [m["event"]["data"]["id"] for g, m in sent if m.get("event", {}).get("type") == "call.missed"]
    assert sorted(missed) == sorted(ids * 2)  # one event per call to each of the two people
    assert Message.objects.filter(system__event="call_missed").count() == 12


def test_teleport_accept_against_decline_one_wins(people):
    inviter, invitee = people[:2]
    space = Space.objects.create(company=inviter.company, name="Deck", capacity=4)
    for _ in range(3):
        teleport = services.teleport_create(actor=inviter, invitee_id=invitee.id, space_id=space.id)
        accepted, declined = race(
            lambda t=teleport: services.teleport_accept(actor=invitee, teleport=t),
            lambda t=teleport: services.teleport_decline(actor=invitee, teleport=t),
        )
        teleport.refresh_from_db()
        if teleport.state == "accepted":
            assert declined.code == "already_accepted"
            invitee.presence.refresh_from_db()
            assert invitee.presence.current_space_id == space.id
            space_services.space_leave(actor=invitee)
        else:
            assert teleport.state == "declined" and accepted.code == "teleport_declined"
