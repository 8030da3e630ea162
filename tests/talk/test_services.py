"""talk.services: the mesh cap holds under concurrent joins (the space row is locked), a second tab's
join takes over the first's place, and a talk's events go out after commit only."""

import threading

import pytest
from django.db import connection, transaction

from spaces import services as space_services
from talk import services
from talk.models import TalkParticipant
from tests.factories import SpaceFactory, UserFactory
from virtual_office.errors import Conflict


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_never_pass_the_mesh_max(company, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    settings.SPACE_AV_MESH_MAX = 2
    space = SpaceFactory(company=company, capacity=8)
    people = [UserFactory(company=company) for _ in range(5)]
    for person in people:
        space_services.space_enter(actor=person, space=space)
    start = threading.Barrier(len(people))
    outcomes: list[str] = []

    def join(person) -> None:
        start.wait()
        try:
            services.talk_join(actor=person, space=space, audio=True, video=False, channel_name=f"ws.{person.id}")
            outcomes.append("joined")
        except Conflict as refusal:
            outcomes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["av_full"] * 3 + ["joined"] * 2
    assert TalkParticipant.objects.filter(space=space).count() == 2


@pytest.mark.django_db
def test_a_second_tab_takes_over_and_only_its_close_ends_the_talk(alice, space):
    space_services.space_enter(actor=alice, space=space)
    services.talk_join(actor=alice, space=space, audio=True, video=False, channel_name="ws.first")
    services.talk_join(actor=alice, space=space, audio=False, video=True, channel_name="ws.second")
    row = TalkParticipant.objects.get(user=alice)
    assert (row.channel_name, row.audio, row.video) == ("ws.second", False, True)
    assert services.talk_leave_socket(channel_name="ws.first") == []
    assert TalkParticipant.objects.filter(user=alice).exists()
    assert len(services.talk_leave_socket(channel_name="ws.second")) == 1
    assert not TalkParticipant.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_events_after_commit_only(alice, bob, space, capture_events):
    for person in (alice, bob):
        space_services.space_enter(actor=person, space=space)
    with capture_events():
        with transaction.atomic():
            services.talk_join(actor=alice, space=space, audio=True, video=False, channel_name="ws.a")
            transaction.set_rollback(True)
    assert "space.av.updated" not in capture_events.types()
    with capture_events():
        services.talk_join(actor=alice, space=space, audio=True, video=False, channel_name="ws.a")
    # One frame per occupant, even though the join changed two things (the row and presence).
    assert capture_events.types(f"user.{bob.id}").count("space.av.updated") == 1
    assert capture_events.types(f"user.{alice.id}").count("space.av.updated") == 1
