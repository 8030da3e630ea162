"""Call services: every transition with its events, every refusal with the error the user sees."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calling import services
from calling.models import Call
from messaging.models import Conversation, Message
from presence import services as presence_services
from tests.calling.conftest import set_presence
from virtual_office.errors import ServiceError

pytestmark = pytest.mark.django_db


def refusal(fn, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(**kwargs)
    return info.value


def overdue(call: Call, seconds: int = 1) -> Call:
    Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() - timedelta(seconds=seconds))
    call.refresh_from_db()
    return call


def call_events(capture, user) -> list[str]:
    return [t for t in capture.types(f"user.{user.id}") if t.startswith("call.")]


# -- transitions -------------------------------------------------------------------------------


def test_create_rings_both_sides(alice, bob, carol, online, capture_events, settings):
    with capture_events():
        call = services.call_create(actor=alice, callee_id=bob.id, kind="video")
    assert call.state == "ringing" and call.kind == "video"
    assert call.company_id == alice.company_id
    ring = (call.expires_at - call.created_at).total_seconds()
    assert abs(ring - settings.CALL_RING_SECONDS) < 1
    assert call_events(capture_events, alice) == ["call.invited"]
    assert call_events(capture_events, bob) == ["call.invited"]
    assert call_events(capture_events, carol) == []
    data = next(m["event"]["data"] for g, m in capture_events.sent if g == f"user.{bob.id}")
    assert data["caller"] == {"id": alice.id, "name": "Alice Archer", "initials": "AA", "colour": alice.colour}
    assert data["callee"]["id"] == bob.id and data["state"] == "ringing" and data["kind"] == "video"


def test_accept_then_end_keeps_duration(alice, bob, ring, capture_events):
    call = ring(alice, bob)
    with capture_events():
        call = services.call_accept(actor=bob, call=call)
    assert call.state == "accepted" and call.answered_at is not None
    assert call_events(capture_events, alice) == ["call.accepted"]
    assert call_events(capture_events, bob) == ["call.accepted"]
    Call.objects.filter(pk=call.pk).update(answered_at=timezone.now() - timedelta(seconds=65))
    call.refresh_from_db()
    with capture_events():
        call = services.call_end(actor=bob, call=call)
    assert call.state == "ended" and call.ended_by_id == bob.id
    assert call.duration_seconds == 65
    assert call_events(capture_events, alice)[-1] == "call.ended"
    assert call_events(capture_events, bob)[-1] == "call.ended"
    payload = capture_events.sent[-1][1]["event"]["data"]
    assert payload["duration_seconds"] == 65 and payload["ended_by"] == bob.id


def test_caller_may_end_too(alice, bob, ring):
    call = services.call_accept(actor=bob, call=ring(alice, bob))
    call = services.call_end(actor=alice, call=call)
    assert call.state == "ended" and call.ended_by_id == alice.id


def test_decline(alice, bob, ring, capture_events):
    call = ring(alice, bob)
    with capture_events():
        call = services.call_decline(actor=bob, call=call)
    assert call.state == "declined" and call.ended_at is not None
    assert call_events(capture_events, alice) == ["call.declined"]
    assert call_events(capture_events, bob) == ["call.declined"]


def test_cancel(alice, bob, ring, capture_events):
    call = ring(alice, bob)
    with capture_events():
        call = services.call_cancel(actor=alice, call=call)
    assert call.state == "cancelled"
    assert call_events(capture_events, alice) == ["call.cancelled"]
    assert call_events(capture_events, bob) == ["call.cancelled"]


def test_sweep_marks_missed_notes_it_and_announces_once(alice, bob, ring, capture_events):
    call = overdue(ring(alice, bob))
    with capture_events():
        result = services.invitations_expire()
        again = services.invitations_expire()
    assert result == {"calls": [call.pk], "teleports": []}
    assert again == {"calls": [], "teleports": []}
    call.refresh_from_db()
    assert call.state == "missed" and call.ended_at == call.expires_at
    assert call_events(capture_events, alice) == ["call.missed"]
    assert call_events(capture_events, bob) == ["call.missed"]
    direct = Conversation.objects.get(kind="direct", direct_key=f"{min(alice.id, bob.id)}:{max(alice.id, bob.id)}")
    note = Message.objects.get(conversation=direct, kind="system")
    assert note.body == "Missed voice call from Alice Archer"
    assert note.system["event"] == "call_missed" and note.system["call"] == call.pk
    assert "message.created" in capture_events.types(f"conversation.{direct.id}")


def test_sweep_leaves_calls_that_still_ring(alice, bob, ring):
    call = ring(alice, bob)
    assert services.invitations_expire() == {"calls": [], "teleports": []}
    call.refresh_from_db()
    assert call.state == "ringing"


def test_going_offline_ends_the_call(alice, bob, ring, capture_events):
    call = services.call_accept(actor=bob, call=ring(alice, bob))
    with capture_events():
        presence_services.presence_settle(user_id=bob.id)  # no live Connection row: bob is gone
    call.refresh_from_db()
    assert call.state == "ended" and call.ended_by_id == bob.id
    assert call_events(capture_events, alice) == ["call.ended"]


def test_caller_going_offline_cancels_the_ringing(alice, bob, ring):
    call = ring(alice, bob)
    presence_services.presence_settle(user_id=alice.id)
    call.refresh_from_db()
    assert call.state == "cancelled"


# -- refusals ----------------------------------------------------------------------------------


def test_cannot_call_yourself(alice, online):
    error = refusal(services.call_create, actor=alice, callee_id=alice.id, kind="voice")
    assert (error.status, error.code, error.message) == (400, "self_call", "You cannot call yourself.")
    assert not Call.objects.exists()


def test_other_company_is_not_found(alice, mallory, online):
    set_presence(mallory)
    error = refusal(services.call_create, actor=alice, callee_id=mallory.id, kind="voice")
    assert (error.status, error.code) == (404, "user_not_found")
    assert not Call.objects.exists()


def test_unknown_callee_is_not_found(alice, online):
    """Ids that are no id at all ("abc", true) never reach the service: CallIn refuses them (test_api)."""
    assert refusal(services.call_create, actor=alice, callee_id=10**9, kind="voice").status == 404


def test_offline_callee(alice, bob, online):
    set_presence(bob, connected=False)
    error = refusal(services.call_create, actor=alice, callee_id=bob.id, kind="voice")
    assert (error.status, error.code) == (409, "callee_offline")
    assert error.message == "Bob Baker is offline right now; send a message instead."


def test_dnd_callee(alice, bob, online):
    set_presence(bob, status="dnd")
    error = refusal(services.call_create, actor=alice, callee_id=bob.id, kind="voice")
    assert (error.status, error.code) == (409, "callee_dnd")
    assert "does not want to be disturbed" in error.message


@pytest.mark.parametrize("status", ["away", "busy"])
def test_away_and_busy_status_can_still_be_called(alice, bob, online, status):
    set_presence(bob, status=status)
    assert services.call_create(actor=alice, callee_id=bob.id, kind="voice").state == "ringing"


def test_busy_callee_ringing(alice, bob, carol, ring):
    ring(alice, bob)
    error = refusal(services.call_create, actor=carol, callee_id=bob.id, kind="voice")
    assert (error.status, error.code) == (409, "busy")
    assert error.message == "Bob Baker is already in a call; try again later."


def test_busy_callee_in_call(alice, bob, carol, ring):
    services.call_accept(actor=bob, call=ring(alice, bob))
    error = refusal(services.call_create, actor=carol, callee_id=alice.id, kind="voice")
    assert (error.status, error.code) == (409, "busy")


def test_busy_caller(alice, bob, carol, ring):
    ring(alice, bob)
    error = refusal(services.call_create, actor=alice, callee_id=carol.id, kind="voice")
    assert (error.code, error.message) == ("busy", "You are already in a call; hang up or cancel it first.")
    error = refusal(services.call_create, actor=bob, callee_id=carol.id, kind="voice")
    assert error.code == "busy"


def test_an_expired_ring_does_not_make_anyone_busy(alice, bob, carol, ring):
    overdue(ring(alice, bob))
    assert services.call_create(actor=carol, callee_id=bob.id, kind="voice").state == "ringing"


def test_finished_calls_do_not_make_anyone_busy(alice, bob, ring):
    services.call_cancel(actor=alice, call=ring(alice, bob))
    services.call_decline(actor=bob, call=ring(alice, bob))
    services.call_end(actor=alice, call=services.call_accept(actor=bob, call=ring(alice, bob)))
    assert ring(bob, alice).state == "ringing"


def test_double_accept(alice, bob, ring, capture_events):
    call = ring(alice, bob)
    services.call_accept(actor=bob, call=call)
    with capture_events():
        error = refusal(services.call_accept, actor=bob, call=call)
    assert (error.status, error.code, error.message) == (409, "already_accepted", "This call was already answered.")
    assert capture_events.sent == []


def test_accept_after_cancel(alice, bob, ring):
    call = ring(alice, bob)
    services.call_cancel(actor=alice, call=call)
    error = refusal(services.call_accept, actor=bob, call=call)
    assert (error.status, error.code, error.message) == (409, "call_cancelled", "Alice Archer cancelled this call.")
    call.refresh_from_db()
    assert call.state == "cancelled" and call.answered_at is None


def test_accept_after_decline(alice, bob, ring):
    call = ring(alice, bob)
    services.call_decline(actor=bob, call=call)
    assert refusal(services.call_accept, actor=bob, call=call).code == "call_declined"


def test_late_accept_is_refused_and_marks_the_call_missed(alice, bob, ring, capture_events):
    call = overdue(ring(alice, bob))  # expired while no sweep ran (e.g. no server was up)
    with capture_events():
        error = refusal(services.call_accept, actor=bob, call=call)
    assert (error.status, error.code) == (409, "call_expired")
    assert error.message == "This call rang out and was missed; call back instead."
    call.refresh_from_db()
    assert call.state == "missed" and call.answered_at is None
    assert call_events(capture_events, bob) == ["call.missed"]
    assert Message.objects.filter(system__event="call_missed", system__call=call.pk).count() == 1


def test_accept_after_the_sweep(alice, bob, ring):
    call = overdue(ring(alice, bob))
    services.invitations_expire()
    assert refusal(services.call_accept, actor=bob, call=call).code == "call_expired"
    assert refusal(services.call_decline, actor=bob, call=call).code == "call_expired"
    assert refusal(services.call_cancel, actor=alice, call=call).code == "call_expired"


def test_only_the_callee_answers(alice, bob, ring):
    call = ring(alice, bob)
    error = refusal(services.call_accept, actor=alice, call=call)
    assert (error.status, error.code) == (403, "not_callee")
    assert refusal(services.call_decline, actor=alice, call=call).code == "not_callee"
    call.refresh_from_db()
    assert call.state == "ringing"


def test_only_the_caller_cancels(alice, bob, ring):
    call = ring(alice, bob)
    error = refusal(services.call_cancel, actor=bob, call=call)
    assert (error.status, error.code, error.message) == (403, "not_caller", "Only the caller can cancel this call.")


def test_end_needs_an_answered_call(alice, bob, ring):
    call = ring(alice, bob)
    error = refusal(services.call_end, actor=alice, call=call)
    assert (error.status, error.code) == (409, "call_not_active")
    call = services.call_accept(actor=bob, call=call)
    services.call_end(actor=alice, call=call)
    error = refusal(services.call_end, actor=bob, call=call)
    assert (error.code, error.message) == ("call_ended", "This call has already ended.")


def test_end_of_a_missed_call(alice, bob, ring):
    call = overdue(ring(alice, bob))
    assert refusal(services.call_end, actor=alice, call=call).code == "call_expired"


def test_cancel_after_accept(alice, bob, ring):
    call = services.call_accept(actor=bob, call=ring(alice, bob))
    assert refusal(services.call_cancel, actor=alice, call=call).code == "already_accepted"


def test_states_never_move_back_in_the_database(alice, bob, ring):
    """Every transition is conditional on the state it leaves: a finished call stays finished."""
    call = ring(alice, bob)
    services.call_decline(actor=bob, call=call)
    for fn, actor in [
        (services.call_accept, bob), (services.call_cancel, alice), (services.call_decline, bob),
        (services.call_end, alice),
    ]:
        with pytest.raises(ServiceError):
            fn(actor=actor, call=call)
    call.refresh_from_db()
    assert call.state == "declined"
