"""Concurrent first requests for a space's room conversation (PostgreSQL, one connection per thread)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from messaging.models import Conversation
from tests.factories import SpaceFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_first_requests_for_a_room_conversation_create_exactly_one():
    assert connection.vendor == "postgresql"
    space = SpaceFactory()
    people = [UserFactory(company=space.company) for _ in range(10)]
    barrier = threading.Barrier(len(people))
    results: list = [None] * len(people)

    def fetch(index: int) -> None:
        try:
            client = APIClient()
            client.force_authenticate(people[index])
            barrier.wait(timeout=10)
            response = client.get(f"/api/v1/spaces/{space.id}/conversation/")
            results[index] = (response.status_code, response.json().get("id"))
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(people))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, tuple) and r[0] == 200 for r in results), results
    assert Conversation.objects.filter(space=space).count() == 1
    assert {conversation_id for _, conversation_id in results} == {Conversation.objects.get(space=space).id}
