"""Teleport invitations: create, accept (moves presence, writes the room notes), decline, expire, refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from calling import services
from calling.models import Teleport
from messaging.models import Message
from presence.models import Presence
from spaces import services as space_services
from spaces.models import Space
from tests.calling.conftest import set_presence
from tests.factories import SpaceFactory
from virtual_office.errors import ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_lounge(alice, online, space):
    space_services.space_enter(actor=alice, space=space)
    return space


def refusal(fn, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(**kwargs)
    return info.value


def invite(alice, bob, space=None) -> Teleport:
    return services.teleport_create(actor=alice, invitee_id=bob.id, space_id=space.id if space else None)


def room_notes(space: Space) -> list[Message]:
    return list(Message.objects.filter(conversation__space=space, kind="system").order_by("seq"))


def test_invite_defaults_to_my_space(alice, bob, in_lounge, capture_events):
    with capture_events():
        teleport = invite(alice, bob)
    assert teleport.state == "pending" and teleport.space_id == in_lounge.id
    assert abs((teleport.expires_at - teleport.created_at).total_seconds() - 60) < 1
    for user in (alice, bob):
        assert capture_events.types(f"user.{user.id}") == ["teleport.invited"]
    data = capture_events.sent[0][1]["event"]["data"]
    assert data["space"] == {"id": in_lounge.id, "name": "Lounge"} and data["inviter"]["name"] == "Alice Archer"


def test_invite_to_a_named_space_from_nowhere(alice, bob, online, space):
    assert invite(alice, bob, space).space_id == space.id


def test_nowhere_and_no_space(alice, bob, online):
    error = refusal(services.teleport_create, actor=alice, invitee_id=bob.id)
    assert (error.status, error.code) == (409, "not_in_space")
    assert error.message == "You are not in a space; enter one or name the space to invite Bob Baker to."


def test_accept_moves_the_invitee_and_writes_the_notes(alice, bob, company, in_lounge, capture_events):
    kitchen = SpaceFactory(company=company, name="Kitchen")
    set_presence(bob)
    space_services.space_enter(actor=bob, space=kitchen)
    teleport = invite(alice, bob)
    with capture_events():
        teleport = services.teleport_accept(actor=bob, teleport=teleport)
    assert teleport.state == "accepted" and teleport.answered_at is not None
    assert Presence.objects.get(user=bob).current_space_id == in_lounge.id
    left, joined = room_notes(kitchen)[-1], room_notes(in_lounge)[-1]
    assert (left.system["event"], left.system["actor"], left.system["reason"]) == ("left", bob.id, "teleport")
    assert left.body.startswith("Bob Baker teleported")
    assert (joined.system["event"], joined.system["actor"]) == ("joined", bob.id)
    assert joined.body.startswith("Bob Baker joined Lounge")
    events = [m["event"] for g, m in capture_events.sent if g == f"company.{company.id}" and "event" in m]
    updates = [e["data"] for e in events if e["type"] == "presence.updated"]
    assert {"user": bob.id, "current_space": in_lounge.id}.items() <= updates[-1].items()
    assert capture_events.types(f"user.{alice.id}")[-1] == "teleport.accepted"
    assert capture_events.types(f"user.{bob.id}")[-1] == "teleport.accepted"


def test_accept_refused_when_the_space_filled_up(alice, bob, carol, company, in_lounge, capture_events):
    teleport = invite(alice, bob)
    in_lounge.capacity = 1
    in_lounge.save()
    with capture_events():
        error = refusal(services.teleport_accept, actor=bob, teleport=teleport)
    assert (error.status, error.code, error.message) == (409, "space_full", "Lounge is full (1 people).")
    assert capture_events.sent == []
    teleport.refresh_from_db()
    assert teleport.state == "pending"  # nothing was written: room may free up before it expires
    assert Presence.objects.get(user=bob).current_space_id is None


def test_accept_refused_when_the_space_closed(alice, bob, in_lounge):
    teleport = invite(alice, bob)
    Space.objects.filter(pk=in_lounge.pk).update(status=Space.Status.CLOSED)
    error = refusal(services.teleport_accept, actor=bob, teleport=teleport)
    assert (error.code, error.message) == ("space_closed", "Lounge is closed.")


def test_accept_refused_when_the_space_became_private(alice, bob, in_lounge):
    teleport = invite(alice, bob)
    Space.objects.filter(pk=in_lounge.pk).update(is_private=True)
    error = refusal(services.teleport_accept, actor=bob, teleport=teleport)
    assert (error.status, error.code) == (409, "space_private")


def test_decline(alice, bob, in_lounge, capture_events):
    teleport = invite(alice, bob)
    with capture_events():
        teleport = services.teleport_decline(actor=bob, teleport=teleport)
    assert teleport.state == "declined"
    assert capture_events.types(f"user.{alice.id}") == ["teleport.declined"]
    error = refusal(services.teleport_accept, actor=bob, teleport=teleport)
    assert (error.code, error.message) == ("teleport_declined", "This invitation was declined.")


def test_double_accept(alice, bob, in_lounge):
    teleport = invite(alice, bob)
    services.teleport_accept(actor=bob, teleport=teleport)
    assert refusal(services.teleport_accept, actor=bob, teleport=teleport).code == "already_accepted"
    assert refusal(services.teleport_decline, actor=bob, teleport=teleport).code == "already_accepted"


def test_sweep_expires_and_announces(alice, bob, in_lounge, capture_events):
    teleport = invite(alice, bob)
    Teleport.objects.filter(pk=teleport.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with capture_events():
        assert services.invitations_expire() == {"calls": [], "teleports": [teleport.pk]}
        assert services.invitations_expire() == {"calls": [], "teleports": []}
    assert capture_events.types(f"user.{alice.id}") == ["teleport.expired"]
    # The invitee also finds it in their inbox (notifications: `teleport_missed`).
    assert capture_events.types(f"user.{bob.id}") == ["teleport.expired", "notification.created"]
    error = refusal(services.teleport_accept, actor=bob, teleport=teleport)
    assert (error.status, error.code) == (409, "teleport_expired")
    assert error.message == "This invitation expired; ask for a new one."
    assert Presence.objects.get(user=bob).current_space_id is None


def test_late_accept_without_a_sweep(alice, bob, in_lounge, capture_events):
    teleport = invite(alice, bob)
    Teleport.objects.filter(pk=teleport.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with capture_events():
        assert refusal(services.teleport_accept, actor=bob, teleport=teleport).code == "teleport_expired"
    assert capture_events.types(f"user.{bob.id}") == ["teleport.expired", "notification.created"]
    teleport.refresh_from_db()
    assert teleport.state == "expired"


def test_only_the_invitee_answers(alice, bob, in_lounge):
    teleport = invite(alice, bob)
    error = refusal(services.teleport_accept, actor=alice, teleport=teleport)
    assert (error.status, error.code) == (403, "not_invitee")
    assert refusal(services.teleport_decline, actor=alice, teleport=teleport).code == "not_invitee"


def test_refusals_at_invite_time(alice, bob, carol, company, mallory, in_lounge):
    error = refusal(services.teleport_create, actor=alice, invitee_id=alice.id)
    assert (error.status, error.code) == (400, "self_invite")
    error = refusal(services.teleport_create, actor=alice, invitee_id=mallory.id)
    assert (error.status, error.code) == (404, "user_not_found")
    set_presence(bob, connected=False)
    assert refusal(services.teleport_create, actor=alice, invitee_id=bob.id).code == "invitee_offline"
    set_presence(bob, status="dnd")
    assert refusal(services.teleport_create, actor=alice, invitee_id=bob.id).code == "invitee_dnd"
    set_presence(bob, space=in_lounge)
    error = refusal(services.teleport_create, actor=alice, invitee_id=bob.id)
    assert (error.code, error.message) == ("already_there", "Bob Baker is already in Lounge.")
    invite(alice, carol)
    assert refusal(services.teleport_create, actor=alice, invitee_id=carol.id).code == "already_invited"
    assert not Teleport.objects.filter(invitee__in=[alice, bob, mallory]).exists()


def test_space_rules_at_invite_time(alice, bob, company, other_company, online):
    vault = SpaceFactory(company=company, name="Vault", is_private=True)
    error = refusal(services.teleport_create, actor=alice, invitee_id=bob.id, space_id=vault.id)
    assert (error.code, error.message) == ("space_private", "Vault is private; you cannot invite people there.")
    assign_perm("enter_space", alice, vault)
    error = refusal(services.teleport_create, actor=alice, invitee_id=bob.id, space_id=vault.id)
    assert (error.code, error.message) == ("space_private", "Vault is private and Bob Baker may not enter it.")
    assign_perm("enter_space", bob, vault)
    assert services.teleport_create(actor=alice, invitee_id=bob.id, space_id=vault.id).state == "pending"
    closed = SpaceFactory(company=company, name="Attic", status=Space.Status.CLOSED)
    assert refusal(services.teleport_create, actor=alice, invitee_id=bob.id, space_id=closed.id).code == "space_closed"
    foreign = SpaceFactory(company=other_company, name="Globex HQ")
    error = refusal(services.teleport_create, actor=alice, invitee_id=bob.id, space_id=foreign.id)
    assert error.status == 404
