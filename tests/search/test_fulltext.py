"""What PostgreSQL's full-text search adds: the index is used, words are stemmed, stop words are
skipped, and matches rank by relevance before recency."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Message
from search import fulltext
from tests.factories import group_with, post

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")


def found_ids(client, q, **params) -> list[int]:
    response = client.get("/api/v1/search/", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [hit["message"]["id"] for hit in response.json()["messages"]]


@pytest.fixture
def team(alice, bob):
    return group_with(alice, bob, title="Crew")


@pytest.mark.django_db
def test_the_query_reads_the_gin_index(team):
    """The expression the search queries with is the index's own: the planner can use it (on a table
    this small it would rather scan, so scans are made unattractive for the check)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = fulltext.explain('deploy -friday "release notes"')
    assert "message_body_search" in plan, plan


@pytest.mark.django_db
def test_words_are_stemmed_and_stop_words_skipped(api, alice, bob, team):
    meetings = post(team, bob, "Two meetings were moved")
    assert found_ids(api(alice), "meeting") == [meetings.id]
    assert found_ids(api(alice), "moving") == [meetings.id]
    assert found_ids(api(alice), "the") == []  # only stop words: no message, no error
    response = api(alice).get("/api/v1/search/", {"q": "meeting"})
    assert response.json()["messages"][0]["snippet"] == "Two <mark>meetings</mark> were moved"


@pytest.mark.django_db
def test_more_relevant_first_then_newer(api, alice, bob, team):
    once_old = post(team, bob, "deploy")
    thrice = post(team, bob, "deploy deploy deploy: the deploy of the week")
    once_new = post(team, bob, "deploy")
    Message.objects.filter(pk=thrice.pk).update(created_at=timezone.now() - timedelta(days=3))
    Message.objects.filter(pk=once_old.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert found_ids(api(alice), "deploy") == [thrice.id, once_new.id, once_old.id]


@pytest.mark.django_db
def test_ranking_is_bounded_to_the_newest_matches(team, bob):
    """Past RANK_WINDOW matches, only the newest are ranked (what keeps a common word fast)."""
    old_best = post(team, bob, "ship ship ship")
    newer = [post(team, bob, "ship it") for _ in range(3)]
    scope = fulltext.Scope(conversation_ids=[team.id])
    assert fulltext.ranked_ids("ship", scope, limit=10)[0] == old_best.id
    ranked = fulltext.ranked_ids("ship", scope, limit=10, window=3)
    assert ranked == [m.id for m in reversed(newer)]
