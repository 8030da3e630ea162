"""spaces.services: room conversations follow presence, system notes, coalescing, the cap, meetings, closing."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from messaging.models import Conversation, Message, Participant
from messaging.permissions import access_conversation
from presence.models import Connection, Presence
from presence.services import presence_settle
from spaces import services
from spaces.api.serializers import MeetingIn
from spaces.models import Meeting, Space
from tests.factories import SpaceFactory, UserFactory, post
from virtual_office.errors import Conflict, Forbidden, ServiceError
from virtual_office.realtime import conversation_group


def room(space: Space) -> Conversation:
    return Conversation.objects.get(space=space)


def notes(space: Space) -> list[Message]:
    return list(Message.objects.filter(conversation__space=space, kind=Message.Kind.SYSTEM).order_by("seq"))


def events_of(space: Space) -> list[tuple]:
    return [(m.system["event"], m.system["actor"], m.system.get("reason")) for m in notes(space)]


def active_ids(space: Space) -> set[int]:
    return set(Participant.objects.filter(conversation__space=space, is_active=True).values_list("user_id", flat=True))


def occupant_ids(space: Space) -> set[int]:
    return set(Presence.objects.filter(current_space=space).values_list("user_id", flat=True))


def age(space: Space, seconds: int = 61) -> None:
    """Pretend every note of the room was written `seconds` ago (windows are measured from created_at)."""
    Message.objects.filter(conversation__space=space).update(created_at=timezone.now() - timedelta(seconds=seconds))


def assert_gapless(space: Space) -> None:
    conversation = room(space)
    seqs = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", flat=True))
    revs = sorted(Message.objects.filter(conversation=conversation).values_list("rev", flat=True))
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    # Every rev up to the conversation's counter is a message creation or the latest change of one.
    assert revs[-1] == conversation.rev


@pytest.fixture
def kitchen(company):
    return SpaceFactory(company=company, name="Kitchen", capacity=10)


# -- entering and leaving ------------------------------------------------------------------------


@pytest.mark.django_db
def test_enter_joins_room_at_once_and_leave_keeps_read_access(alice, space):
    assert not Conversation.objects.filter(space=space).exists()
    services.space_enter(actor=alice, space=space)
    conversation = room(space)
    assert conversation.kind == Conversation.Kind.ROOM and conversation.company_id == alice.company_id
    assert active_ids(space) == {alice.id} == occupant_ids(space)
    assert access_conversation(alice, conversation.id, write=True) == conversation  # can post at once
    post(conversation, alice, "hello room")

    services.space_leave(actor=alice)
    assert active_ids(space) == set() and occupant_ids(space) == set()
    assert access_conversation(alice, conversation.id).id == conversation.id  # history stays readable
    with pytest.raises(Forbidden):
        access_conversation(alice, conversation.id, write=True)
    assert events_of(space) == [("joined", alice.id, "entered"), ("left", alice.id, "left")]
    bodies = [m.body for m in Message.objects.filter(conversation=conversation).order_by("seq")]
    assert bodies == ["Alice Archer joined Lounge", "hello room", "Alice Archer left Lounge"]
    assert [m.seq for m in Message.objects.filter(conversation=conversation).order_by("seq")] == [1, 2, 3]

    services.space_enter(actor=alice, space=space)
    assert Conversation.objects.filter(space=space).count() == 1
    assert active_ids(space) == {alice.id}
    assert Participant.objects.filter(conversation=conversation, user=alice).count() == 1


@pytest.mark.django_db
def test_system_note_shape(alice, space):
    services.space_enter(actor=alice, space=space)
    (note,) = notes(space)
    assert note.kind == Message.Kind.SYSTEM and note.sender_id is None
    assert note.seq == note.rev == 1
    assert note.system["event"] == "joined"
    assert note.system["actor"] == alice.id and note.system["space"] == space.id
    assert note.system["count"] == 1 and note.system["from"] is None


@pytest.mark.django_db
def test_move_writes_left_in_old_room_and_joined_in_new(alice, bob, space, kitchen):
    services.space_enter(actor=bob, space=space)
    services.space_enter(actor=alice, space=space)
    services.space_enter(actor=alice, space=kitchen)
    assert events_of(space) == [
        ("joined", bob.id, "entered"), ("joined", alice.id, "entered"), ("left", alice.id, "moved"),
    ]
    left = notes(space)[-1]
    assert left.body == "Alice Archer moved to Kitchen" and left.system["to"] == kitchen.id
    assert events_of(kitchen) == [("joined", alice.id, "moved")]
    assert notes(kitchen)[0].system["from"] == space.id
    assert active_ids(space) == {bob.id} == occupant_ids(space)
    assert active_ids(kitchen) == {alice.id} == occupant_ids(kitchen)


@pytest.mark.django_db
def test_teleport_placeholder_reason(alice, space, kitchen):
    services.space_enter(actor=alice, space=space)
    services.space_enter(actor=alice, space=kitchen, reason="teleport")
    assert notes(space)[-1].system["reason"] == "teleport"
    assert notes(space)[-1].body == "Alice Archer teleported to Kitchen"
    assert notes(kitchen)[-1].system["reason"] == "teleport"
    assert notes(kitchen)[-1].body == "Alice Archer joined Kitchen (teleported)"


@pytest.mark.django_db
def test_invalid_reason_writes_nothing(alice, space):
    with pytest.raises(ServiceError):
        services.space_enter(actor=alice, space=space, reason="sneaked")
    services.space_enter(actor=alice, space=space)
    with pytest.raises(ServiceError):
        services.space_leave(actor=alice, reason="vanished")
    assert occupant_ids(space) == {alice.id} and len(notes(space)) == 1


@pytest.mark.django_db
def test_leave_by_going_offline(alice, bob, space):
    services.space_enter(actor=alice, space=space)
    services.space_enter(actor=bob, space=space)
    Presence.objects.filter(user=alice).update(connected=True)
    Connection.objects.create(
        channel_name="x", user=alice, server_id="s", heartbeat_at=timezone.now() - timedelta(minutes=5)
    )  # stale: its process stopped heartbeating
    presence_settle(user_id=alice.id)
    presence = Presence.objects.get(user=alice)
    assert not presence.connected and presence.current_space_id is None
    assert events_of(space)[-1] == ("left", alice.id, "offline")
    assert notes(space)[-1].body == "Alice Archer went offline"
    assert active_ids(space) == {bob.id} == occupant_ids(space)


@pytest.mark.django_db
def test_admin_removes_someone(alice, bob, admin_user, space):
    services.space_enter(actor=alice, space=space)
    with pytest.raises(Forbidden):
        services.space_remove(actor=bob, space=space, user=alice)
    services.space_remove(actor=admin_user, space=space, user=alice)
    note = notes(space)[-1]
    assert (note.system["event"], note.system["reason"], note.system["by"]) == ("left", "removed", admin_user.id)
    assert note.body == "Alice Archer was removed by Dana Boss"
    assert occupant_ids(space) == set() == active_ids(space)
    with pytest.raises(Conflict):
        services.space_remove(actor=admin_user, space=space, user=alice)


@pytest.mark.django_db
def test_full_and_private_refused_without_writes(alice, bob, carol, admin_user, company):
    tiny = SpaceFactory(company=company, name="Booth", capacity=1)
    private = SpaceFactory(company=company, name="Vault", is_private=True)
    services.space_enter(actor=alice, space=tiny)
    with pytest.raises(Conflict) as full:
        services.space_enter(actor=bob, space=tiny)
    assert full.value.code == "space_full"
    with pytest.raises(Conflict) as denied:
        services.space_enter(actor=carol, space=private)
    assert denied.value.code == "space_private"
    assert occupant_ids(tiny) == {alice.id} == active_ids(tiny) and len(notes(tiny)) == 1
    assert not Conversation.objects.filter(space=private).exists()


# -- status, meetings, closing -------------------------------------------------------------------


@pytest.mark.django_db
def test_status_change_note(admin_user, space):
    services.space_update(actor=admin_user, space=space, data={"status": "in_use"})
    services.space_update(actor=admin_user, space=space, data={"name": "Big lounge"})  # no status change: no note
    (note,) = notes(space)
    assert note.system == {"event": "status_changed", "actor": admin_user.id, "space": space.id, "from": "available",
                           "to": "in_use"}
    assert note.body == "Dana Boss set Lounge to in use"


@pytest.mark.django_db
def test_meeting_start_and_end(alice, bob, space):
    services.space_enter(actor=alice, space=space)
    meeting = services.meeting_start(actor=alice, space=space, title="  Standup ")
    space.refresh_from_db()
    assert space.status == Space.Status.IN_USE and meeting.title == "Standup"
    with pytest.raises(Conflict):
        services.meeting_start(actor=bob, space=space, title="Another")
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - timedelta(minutes=3, seconds=5))
    ended = services.meeting_end(actor=bob, space=space)
    space.refresh_from_db()
    assert space.status == Space.Status.AVAILABLE and ended.ended_by_id == bob.id
    with pytest.raises(Conflict):
        services.meeting_end(actor=bob, space=space)
    started, finished = notes(space)[1:]
    assert started.system == {"event": "meeting_started", "actor": alice.id, "space": space.id, "meeting": meeting.id,
                              "title": "Standup"}
    assert started.body == "Alice Archer started the meeting “Standup” in Lounge"
    assert finished.system["event"] == "meeting_ended" and finished.system["actor"] == bob.id
    assert finished.system["started_by"] == alice.id and finished.system["duration_seconds"] in (185, 186)
    assert finished.body.startswith("Bob Baker ended the meeting “Standup” after 3 min")
    assert [m.seq for m in notes(space)] == [1, 2, 3]


@pytest.mark.django_db
def test_meeting_needs_a_title(alice, space):
    """Checked at the edge, before the service (POST spaces/{id}/meeting/ answers 400, test_api)."""
    for title in ("", "   ", None, "x" * 201, 5):
        assert not MeetingIn(data={"title": title}).is_valid()
    assert MeetingIn(data={"title": " Standup "}).is_valid()
    assert not Meeting.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_closing_a_space(api, alice, bob, carol, admin_user, space, kitchen):
    services.space_enter(actor=bob, space=space)
    services.space_enter(actor=alice, space=space)
    services.meeting_start(actor=alice, space=space, title="Retro")
    post(room(space), bob, "see you")
    response = api(admin_user).patch(f"/api/v1/spaces/{space.id}/", {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert response.json()["occupants"] == [] and response.json()["meeting"] is None
    tail = [(m.seq, m.system["event"], m.system.get("actor"), m.system.get("reason")) for m in notes(space)[3:]]
    assert tail == [
        (5, "status_changed", admin_user.id, None),
        (6, "meeting_ended", admin_user.id, None),
        (7, "left", alice.id, "closed"),
        (8, "left", bob.id, "closed"),
    ]
    assert notes(space)[-1].body == "Bob Baker left (space closed)"
    assert notes(space)[-1].system["by"] == admin_user.id
    assert occupant_ids(space) == set() == active_ids(space)
    refused = api(carol).post(f"/api/v1/spaces/{space.id}/enter/")
    assert refused.status_code == 409 and refused.json()["code"] == "space_closed"
    with pytest.raises(Conflict):
        services.meeting_start(actor=admin_user, space=space, title="Sneaky")
    # The room's history stays readable to people who may still see the space.
    assert api(alice).get(f"/api/v1/conversations/{room(space).id}/messages/").status_code == 200
    # Reopening is a status change like any other, and people may enter again.
    services.space_update(actor=admin_user, space=space, data={"status": "available"})
    services.space_enter(actor=carol, space=space)
    assert [m.system["event"] for m in notes(space)[-2:]] == ["status_changed", "joined"]


@pytest.mark.django_db
def test_delete_space_moves_people_out(alice, admin_user, space):
    services.space_enter(actor=alice, space=space)
    services.space_delete(actor=admin_user, space=space)
    assert Presence.objects.get(user=alice).current_space_id is None
    assert not Conversation.objects.filter(kind=Conversation.Kind.ROOM).exists()


# -- events ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notes_go_out_as_message_created_after_commit(alice, space, capture_events):
    with capture_events():
        services.space_enter(actor=alice, space=space)
    group = conversation_group(room(space).id)
    created = [
        m["event"] for g, m in capture_events.sent if g == group and m.get("event", {}).get("type") == "message.created"
    ]
    assert len(created) == 1
    assert created[0]["data"]["system"]["event"] == "joined" and created[0]["rev"] == 1
    assert created[0]["conversation"] == room(space).id
    assert "presence.updated" in capture_events.types(f"company.{alice.company_id}")


@pytest.mark.django_db
def test_refused_enter_sends_nothing(alice, bob, company, capture_events):
    tiny = SpaceFactory(company=company, name="Booth", capacity=1)
    services.space_enter(actor=alice, space=tiny)
    with capture_events(), pytest.raises(Conflict):
        services.space_enter(actor=bob, space=tiny)
    assert capture_events.sent == []


# -- no spam: coalescing and the cap -------------------------------------------------------------


@pytest.mark.django_db
def test_flapping_is_coalesced_in_place(alice, bob, space, capture_events):
    services.space_enter(actor=bob, space=space)
    with capture_events():
        for _ in range(6):
            services.space_enter(actor=alice, space=space)
            services.space_leave(actor=alice)
    joined, left = notes(space)[1:]
    assert len(notes(space)) == 3
    assert joined.system["count"] == 6 and left.system["count"] == 6
    assert joined.body == "Alice Archer joined Lounge (6 times in a minute)"
    assert left.body == "Alice Archer left Lounge (6 times in a minute)"
    assert joined.seq == 2 and left.seq == 3
    conversation = room(space)
    assert conversation.rev == 1 + 12  # every enter and leave took a revision: 2 creations, 10 updates
    assert joined.rev > joined.seq and left.rev == conversation.rev and joined.edited_at is not None
    group = conversation_group(conversation.id)
    types = [m["event"]["type"] for g, m in capture_events.sent if g == group and m.get("event", {}).get("rev")]
    assert types.count("message.created") == 2 and types.count("message.updated") == 10
    revs = [m["event"]["rev"] for g, m in capture_events.sent if g == group and m.get("event", {}).get("rev")]
    assert revs == list(range(2, 14))  # in order, no gaps
    assert active_ids(space) == {bob.id} == occupant_ids(space)


@pytest.mark.django_db
def test_coalescing_window_ends(alice, space):
    services.space_enter(actor=alice, space=space)
    services.space_leave(actor=alice)
    age(space, seconds=int(services.COALESCE_WINDOW.total_seconds()) + 1)
    services.space_enter(actor=alice, space=space)
    assert [m.system["event"] for m in notes(space)] == ["joined", "left", "joined"]
    assert all(m.system["count"] == 1 for m in notes(space))


@pytest.mark.django_db
def test_coalescing_is_per_person(alice, bob, space):
    for user in (alice, bob, alice, bob):
        services.space_enter(actor=user, space=space)
        services.space_leave(actor=user)
    assert [(m.system["event"], m.system["actor"], m.system["count"]) for m in notes(space)] == [
        ("joined", alice.id, 2), ("left", alice.id, 2), ("joined", bob.id, 2), ("left", bob.id, 2),
    ]


@pytest.mark.django_db
def test_cap_per_space_per_minute(company, space, kitchen, monkeypatch):
    monkeypatch.setattr(services, "NOTES_PER_MINUTE", 3)
    people = [UserFactory(company=company) for _ in range(5)]
    space.capacity = 10
    space.save()
    for person in people:
        services.space_enter(actor=person, space=space)
    assert len(notes(space)) == 3  # the 4th and 5th joined notes were dropped ...
    assert occupant_ids(space) == {p.id for p in people} == active_ids(space)  # ... presence was not
    # The cap is per space: another room is unaffected.
    services.space_enter(actor=people[0], space=kitchen)
    assert [m.system["event"] for m in notes(kitchen)] == ["joined"]
    # Coalesced updates add no message, so they pass even at the cap.
    services.space_enter(actor=people[1], space=kitchen)
    services.space_enter(actor=people[1], space=space)
    assert len(notes(space)) == 3
    # Once the minute has passed, notes flow again.
    age(space)
    services.space_enter(actor=people[2], space=kitchen)
    assert notes(space)[-1].system == {**notes(space)[-1].system, "event": "left", "actor": people[2].id}
    assert len(notes(space)) == 4


@pytest.mark.django_db
def test_cap_counts_status_notes_but_keeps_them(admin_user, alice, space, monkeypatch):
    monkeypatch.setattr(services, "NOTES_PER_MINUTE", 2)
    services.space_update(actor=admin_user, space=space, data={"status": "in_use"})
    services.space_update(actor=admin_user, space=space, data={"status": "available"})
    services.space_update(actor=admin_user, space=space, data={"status": "in_use"})
    services.space_enter(actor=alice, space=space)
    assert [m.system["event"] for m in notes(space)] == ["status_changed"] * 3


# -- invariants and concurrency --------------------------------------------------------------------


@pytest.mark.django_db
def test_occupants_equal_active_participants_after_mixed_moves(company, admin_user, space, kitchen):
    lounge2 = SpaceFactory(company=company, name="Garden", capacity=10)
    people = [UserFactory(company=company) for _ in range(6)]
    spaces = [space, kitchen, lounge2]
    for i, person in enumerate(people):
        services.space_enter(actor=person, space=spaces[i % 2 + 1])
    services.space_enter(actor=people[0], space=space)
    services.space_enter(actor=people[1], space=space, reason="teleport")
    services.space_leave(actor=people[2])
    services.space_enter(actor=people[3], space=kitchen)
    services.space_remove(actor=admin_user, space=lounge2, user=people[5])
    services.space_update(actor=admin_user, space=kitchen, data={"status": "closed"})
    services.space_enter(actor=people[4], space=space)
    for each in spaces:
        assert occupant_ids(each) == active_ids(each), each.name
    assert occupant_ids(space) == {people[0].id, people[1].id, people[4].id}
    assert occupant_ids(kitchen) == set()
    for each in spaces:
        assert_gapless(each)


@pytest.mark.django_db(transaction=True)
def test_twenty_people_enter_an_empty_space_at_once(company):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    space = SpaceFactory(company=company, name="Atrium", capacity=50)
    people = [UserFactory(company=company) for _ in range(20)]
    for person in people:
        Presence.objects.get_or_create(user=person)
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def enter(person) -> None:
        try:
            barrier.wait(timeout=10)
            services.space_enter(actor=person, space=space)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enter, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Conversation.objects.filter(space=space).count() == 1
    joined = notes(space)
    assert len(joined) == 20 and {m.system["actor"] for m in joined} == {p.id for p in people}
    assert [m.seq for m in joined] == list(range(1, 21)) and room(space).rev == 20
    assert occupant_ids(space) == {p.id for p in people} == active_ids(space)


@pytest.mark.django_db(transaction=True)
def test_going_offline_while_sending_in_the_room_does_not_deadlock(company):
    """presence_settle holds the presence row and waits for the room; a message being sent in that room
    holds the room and references the user row. Only the presence row may be locked, or PostgreSQL
    aborts one of the two with a deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    from django.db import transaction

    from messaging import services as messaging_services

    alice = UserFactory(company=company, display_name="Alice")
    space = SpaceFactory(company=company, name="Den")
    services.space_enter(actor=alice, space=space)
    Presence.objects.filter(user=alice).update(connected=True)
    conversation = room(space)
    room_held = threading.Event()
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update(no_key=True).get(pk=conversation.pk)
                room_held.set()
                time_to_block = threading.Event()
                time_to_block.wait(0.7)  # let presence_settle queue behind us on the room
                messaging_services.message_send(actor=alice, conversation=conversation, body="still here")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def settle() -> None:
        try:
            room_held.wait(5)
            presence_settle(user_id=alice.id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send), threading.Thread(target=settle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    kinds = [(m.kind, (m.system or {}).get("event")) for m in Message.objects.filter(conversation=conversation)]
    assert kinds == [("system", "joined"), ("user", None), ("system", "left")]
    assert Presence.objects.get(user=alice).current_space_id is None


@pytest.mark.django_db(transaction=True)
def test_first_entries_racing_first_reads_still_make_one_room(company):
    """Half the threads enter (room created under the space's lock), half only ask for the room
    (GET spaces/{id}/conversation/, no lock): the unique `space` settles it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    from messaging import services as messaging_services

    space = SpaceFactory(company=company, name="Forum", capacity=50)
    people = [UserFactory(company=company) for _ in range(10)]
    for person in people:
        Presence.objects.get_or_create(user=person)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []
    rooms: list[int] = []

    def run(action) -> None:
        try:
            barrier.wait(timeout=10)
            action()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    actions = [lambda p=p: services.space_enter(actor=p, space=space) for p in people]
    actions += [lambda: rooms.append(messaging_services.room_conversation_get_or_create(space=space)[0].id)] * 10
    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    conversation = room(space)
    assert Conversation.objects.filter(space=space).count() == 1 and set(rooms) == {conversation.id}
    assert [m.seq for m in notes(space)] == list(range(1, 11))
    assert occupant_ids(space) == {p.id for p in people} == active_ids(space)
