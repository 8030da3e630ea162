"""Concurrent writers on PostgreSQL: revisions stay gapless and in order, client_id retries stay single.

Each thread makes real requests on its own database connection (closed when the thread ends).
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from messaging.models import Conversation, Message
from tests.factories import UserFactory, group_with


def run_together(count: int, work: Callable[[int], object]) -> list:
    """Run work(i) in `count` threads released at once; returns results (or exceptions) by index."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return results


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def group(db):
    people = [UserFactory() for _ in range(1)]
    company = people[0].company
    people += [UserFactory(company=company) for _ in range(3)]
    return group_with(*people), people


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_get_seq_1_to_20(group):
    assert connection.vendor == "postgresql", "this test is about PostgreSQL's row locks"
    conversation, people = group
    url = f"/api/v1/conversations/{conversation.id}/messages/"

    def send(index: int) -> tuple[int, dict]:
        response = client_for(people[index % len(people)]).post(url, {"body": f"message {index}"}, format="json")
        return response.status_code, response.json()

    results = run_together(20, send)
    assert all(not isinstance(r, Exception) for r in results), results
    assert [status for status, _ in results] == [201] * 20, results
    assert sorted(body["seq"] for _, body in results) == list(range(1, 21))
    rows = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", "rev", "body"))
    assert [seq for seq, _, _ in rows] == list(range(1, 21))
    assert all(seq == rev for seq, rev, _ in rows)
    assert sorted(body for _, _, body in rows) == sorted(f"message {i}" for i in range(20))
    assert Conversation.objects.get(pk=conversation.pk).rev == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_client_id_make_one_message(group):
    conversation, people = group
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    sender = people[0]

    def send(index: int) -> tuple[int, dict]:
        response = client_for(sender).post(url, {"body": "only once", "client_id": "retry-1"}, format="json")
        return response.status_code, response.json()

    results = run_together(10, send)
    assert all(not isinstance(r, Exception) for r in results), results
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [201], results
    assert len({body["id"] for _, body in results}) == 1
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert Conversation.objects.get(pk=conversation.pk).rev == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_reactions_and_posts_keep_revisions_gapless(group):
    conversation, people = group
    first = client_for(people[0]).post(
        f"/api/v1/conversations/{conversation.id}/messages/", {"body": "base"}, format="json"
    ).json()

    def act(index: int) -> int:
        client = client_for(people[index % len(people)])
        message_url = f"/api/v1/messages/{first['id']}/"
        if index % 3 == 0:
            response = client.post(message_url + "reactions/", {"emoji": f"e{index}"}, format="json")
        elif index % 3 == 1:
            url = f"/api/v1/conversations/{conversation.id}/messages/"
            response = client.post(url, {"body": f"m{index}"}, format="json")
        else:
            response = client_for(people[0]).patch(message_url, {"body": f"v{index}"}, format="json")
        return response.status_code

    results = run_together(15, act)
    assert sorted(results) == [200] * 10 + [201] * 5, results
    # 1 base + 5 reactions + 5 posts + 5 edits: rev 16, and the base message carries the last of its changes.
    conversation.refresh_from_db()
    assert conversation.rev == 16
    seqs = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", flat=True))
    assert len(seqs) == 6 and len(set(seqs)) == 6 and seqs[0] == 1
    revs = sorted(Message.objects.filter(conversation=conversation).values_list("rev", flat=True))
    assert revs[-1] == 16 and len(set(revs)) == len(revs)


@pytest.mark.django_db(transaction=True)
def test_concurrent_direct_requests_make_one_conversation(group):
    _, people = group
    alice, bob = people[0], people[1]

    def open_direct(index: int) -> tuple[int, int]:
        me, other = (alice, bob) if index % 2 else (bob, alice)
        response = client_for(me).post("/api/v1/conversations/direct/", {"user": other.id}, format="json")
        return response.status_code, response.json()["id"]

    results = run_together(10, open_direct)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(status for status, _ in results) == [200] * 9 + [201]
    assert len({conversation_id for _, conversation_id in results}) == 1
    assert Conversation.objects.filter(kind="direct").count() == 1
