"""Settling after sockets close: in batches, one query for people who reconnected meanwhile."""

import pytest
from django.utils import timezone

from presence.models import Connection, Presence
from presence.services import presence_settle_many
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def connected(user, *, with_socket: bool) -> None:
    Presence.objects.update_or_create(user=user, defaults={"connected": True})
    if with_socket:
        Connection.objects.create(
            channel_name=f"ws.{user.id}", user=user, server_id="live", heartbeat_at=timezone.now()
        )


def test_only_people_without_a_live_socket_go_offline(company):
    gone, back = UserFactory(company=company), UserFactory(company=company)
    connected(gone, with_socket=False)
    connected(back, with_socket=True)
    assert presence_settle_many(user_ids=[gone.id, back.id]) == [gone.id]
    assert not Presence.objects.get(user=gone).connected
    assert Presence.objects.get(user=back).connected


def test_a_reconnect_storm_settles_in_one_query(company, django_assert_num_queries):
    people = [UserFactory(company=company) for _ in range(30)]
    for person in people:
        connected(person, with_socket=True)
    with django_assert_num_queries(1):
        assert presence_settle_many(user_ids=[p.id for p in people]) == []
