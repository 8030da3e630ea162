"""`GET search/`: what it finds, for whom, how it ranks and marks matches, and what it refuses.

These run on PostgreSQL (full text) and on SQLite (the substring fallback) alike; what only
PostgreSQL does (stemming, ranking by relevance, the index) is in test_fulltext.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from messaging import services
from messaging.models import Conversation, Message
from spaces import services as space_services
from tests.factories import SpaceFactory, UserFactory, group_with, post

URL = "/api/v1/search/"


def search(client, q, **params):
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def found_ids(client, q, **params) -> list[int]:
    return [hit["message"]["id"] for hit in search(client, q, **params)["messages"]]


def error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code"}, body
    return body["code"]


@pytest.fixture
def team(alice, bob):
    return group_with(alice, bob, title="Launch crew")


def room_of(space, *people):
    """The space's room, with a message from each of `people` (who walk in to post)."""
    for person in people:
        space_services.space_enter(actor=person, space=space)
    return Conversation.objects.get(space=space)


# --- what it finds, and its shape ------------------------------------------------------------------


@pytest.mark.django_db
def test_finds_a_message_with_its_conversation_and_a_marked_snippet(api, alice, bob, team):
    post(team, bob, "lunch first")
    message = post(team, bob, "The quarterly report is ready for review")
    body = search(api(alice), "report")
    assert set(body) == {"messages", "people", "spaces", "conversations"}
    [hit] = body["messages"]
    assert set(hit) == {"message", "conversation", "snippet"}
    assert hit["conversation"] == team.id
    # The message exactly as the messages endpoint gives it.
    listed = api(alice).get(f"/api/v1/conversations/{team.id}/messages/").json()
    assert hit["message"] == next(m for m in listed if m["id"] == message.id)
    assert hit["snippet"] == "The quarterly <mark>report</mark> is ready for review"


@pytest.mark.django_db
def test_people_spaces_and_conversations_match_by_name(api, alice, bob, carol, team, space):
    UserFactory(company=alice.company, username="lounger", display_name="Zed Lounge", is_active=False)
    direct, _ = services.direct_get_or_create(actor=alice, other_id=bob.id)
    body = search(api(alice), "lounge")
    assert [s["id"] for s in body["spaces"]] == [space.id]
    assert body["spaces"][0] == api(alice).get(f"/api/v1/spaces/{space.id}/").json()
    assert body["people"] == []  # the only "Lounge" person is no longer active
    body = search(api(alice), "bob")
    assert [p["username"] for p in body["people"]] == ["bob"]
    assert body["people"][0] == next(u for u in api(alice).get("/api/v1/users/").json() if u["username"] == "bob")
    # Untitled conversations are found by who is in them; titled ones by their title.
    assert [c["id"] for c in body["conversations"]] == [direct.id]
    listed = {c["id"]: c for c in api(alice).get("/api/v1/conversations/").json()}
    assert body["conversations"][0] == listed[direct.id]
    assert [c["id"] for c in search(api(alice), "launch")["conversations"]] == [team.id]
    assert search(api(carol), "launch")["conversations"] == []  # not carol's


# --- who may read what -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_company_finds_nothing_of_ours(api, alice, bob, team, mallory, space):
    post(team, bob, "secret roadmap")
    room = room_of(space, bob)
    post(room, bob, "roadmap in the lounge")
    theirs = group_with(mallory, UserFactory(company=mallory.company), title="Roadmap")
    mine = post(theirs, mallory, "our roadmap")
    body = search(api(mallory), "roadmap")
    assert found_ids(api(mallory), "roadmap") == [mine.id]
    assert body["people"] == [] and body["spaces"] == []
    assert [c["id"] for c in body["conversations"]] == [theirs.id]
    assert search(api(mallory), "bob")["people"] == []
    assert search(api(mallory), "lounge")["spaces"] == []
    # Naming our objects in the filters is a 404, as everywhere.
    assert error(api(mallory).get(URL, {"q": "roadmap", "conversation": team.id}), 404) == "not_found"
    assert error(api(mallory).get(URL, {"q": "roadmap", "conversation": room.id}), 404) == "not_found"
    assert error(api(mallory).get(URL, {"q": "roadmap", "sender": bob.id}), 404) == "not_found"
    assert error(api(alice).get(URL, {"q": "roadmap", "conversation": theirs.id}), 404) == "not_found"


@pytest.mark.django_db
def test_only_conversations_i_take_part_in_and_rooms_i_may_enter(api, alice, bob, carol, admin_user, team, space):
    in_team = post(team, bob, "budget numbers")
    room = room_of(space, bob)
    in_room = post(room, bob, "budget in the open")
    hidden_space = SpaceFactory(company=alice.company, name="Vault", is_private=True)
    assign_perm("spaces.enter_space", bob, hidden_space)
    in_vault = post(room_of(hidden_space, bob), bob, "budget behind closed doors")
    # alice: her group and the public room (read without being in it), not the private one.
    assert set(found_ids(api(alice), "budget")) == {in_team.id, in_room.id}
    # carol is in neither group; a grant opens the private room; a company admin reads every room.
    assert set(found_ids(api(carol), "budget")) == {in_room.id}
    assign_perm("spaces.enter_space", carol, hidden_space)
    assert set(found_ids(api(carol), "budget")) == {in_room.id, in_vault.id}
    assert set(found_ids(api(admin_user), "budget")) == {in_room.id, in_vault.id}
    # Leaving a group ends reading it.
    services.conversation_update(actor=bob, conversation=team, participant_ids=[], may_manage=True)
    assert set(found_ids(api(alice), "budget")) == {in_room.id}
    assert error(api(alice).get(URL, {"q": "budget", "conversation": team.id}), 404) == "not_found"


@pytest.mark.django_db
def test_readable_set_is_the_permission_rule(alice, bob, carol, admin_user, team, space):
    """readable_conversation_ids is messaging.permissions.can_read for every conversation, as a set."""
    from django.contrib.auth.models import Group

    from messaging.models import Participant
    from messaging.permissions import can_read
    from search.selectors import readable_conversation_ids

    room_of(space, bob)
    vault = SpaceFactory(company=alice.company, is_private=True)
    assign_perm("spaces.enter_space", carol, vault)
    room_of(vault, carol)
    # A grant to a group of hers opens a private room to alice too.
    annex = SpaceFactory(company=alice.company, is_private=True)
    crew = Group.objects.create(name="annex crew")
    alice.groups.add(crew)
    assign_perm("spaces.enter_space", crew, annex)
    room_of(annex, admin_user)
    group_with(bob, carol)
    services.direct_get_or_create(actor=alice, other_id=carol.id)
    for user in (alice, bob, carol, admin_user):
        expected = {
            c.id
            for c in Conversation.objects.select_related("space")
            if can_read(user, c, Participant.objects.filter(conversation=c, user=user).first())
        }
        assert set(readable_conversation_ids(user=user)) == expected, user.username
    assert Conversation.objects.get(space=annex).id in readable_conversation_ids(user=alice)


@pytest.mark.django_db
def test_unauthenticated_is_401(api):
    assert error(api(None).get(URL, {"q": "x"}), 401) == "not_authenticated"


# --- deleted and edited messages ---------------------------------------------------------------------


@pytest.mark.django_db
def test_deleted_messages_are_never_found_and_edits_by_their_new_text(api, alice, bob, team):
    gone = post(team, bob, "kiwi smoothie")
    services.message_delete(actor=bob, message=gone)
    edited = post(team, bob, "banana bread")
    services.message_edit(actor=bob, message=edited, body="mango bread")
    assert found_ids(api(alice), "kiwi") == []
    assert found_ids(api(alice), "banana") == []
    assert found_ids(api(alice), "mango") == [edited.id]
    assert search(api(alice), "mango")["messages"][0]["message"]["edited_at"] is not None
    # Not even a tombstone of an admin's deletion.
    services.message_delete(actor=bob, message=edited)
    assert found_ids(api(alice), "mango") == []


@pytest.mark.django_db
def test_system_messages_are_not_searched(api, alice, bob, space):
    room = room_of(space, bob)
    assert Message.objects.filter(conversation=room, kind=Message.Kind.SYSTEM).exists()
    assert found_ids(api(alice), bob.display_name.split()[0]) == []


# --- the query syntax --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_websearch_syntax_phrases_negation_and_or(api, alice, bob, team):
    both = post(team, bob, "release notes for the launch")
    apart = post(team, bob, "notes covering the release")
    draft = post(team, bob, "release notes draft")
    other = post(team, bob, "deploy tonight")
    client = api(alice)
    assert set(found_ids(client, "release notes")) == {both.id, apart.id, draft.id}
    assert set(found_ids(client, '"release notes"')) == {both.id, draft.id}
    assert set(found_ids(client, '"release notes" -draft')) == {both.id}
    assert set(found_ids(client, "release -notes")) == set()
    assert set(found_ids(client, "launch or deploy")) == {both.id, other.id}
    assert set(found_ids(client, "draft OR tonight")) == {draft.id, other.id}
    # (a b) or c, as PostgreSQL reads it.
    assert set(found_ids(client, "covering release or tonight")) == {apart.id, other.id}
    assert found_ids(client, "zebra") == []
    # Nothing but syntax: no message, and no error.
    assert search(client, '"" - !')["messages"] == []


@pytest.mark.django_db
def test_relevance_then_recency(api, alice, bob, team):
    older = post(team, bob, "standup at ten")
    newer = post(team, bob, "standup moved")
    Message.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert found_ids(api(alice), "standup") == [newer.id, older.id]


# --- filters ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_filters_by_conversation_sender_and_time(api, alice, bob, carol, team):
    crew = group_with(alice, bob, carol, title="Crew")
    early = post(team, bob, "invoice one")
    mine = post(team, alice, "invoice two")
    elsewhere = post(crew, carol, "invoice three")
    Message.objects.filter(pk=early.pk).update(created_at=timezone.now() - timedelta(days=2))
    client = api(alice)
    assert set(found_ids(client, "invoice", conversation=team.id)) == {early.id, mine.id}
    assert set(found_ids(client, "invoice", sender=carol.id)) == {elsewhere.id}
    cut = (timezone.now() - timedelta(days=1)).isoformat()
    assert set(found_ids(client, "invoice", before=cut)) == {early.id}
    assert set(found_ids(client, "invoice", after=cut)) == {mine.id, elsewhere.id}
    assert found_ids(client, "invoice", limit=1) in ([mine.id], [elsewhere.id])


# --- snippets ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_snippets_escape_everything_but_the_marks(api, alice, bob, team):
    post(team, bob, 'Try <script>alert("hi")</script> & <b>deploy</b> it \ue000now\ue001')
    [hit] = search(api(alice), "deploy")["messages"]
    snippet = hit["snippet"]
    assert "<script" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; &lt;b&gt;<mark>deploy</mark>&lt;/b&gt;" in snippet
    # Outside the marks the snippet is the text, escaped (sentinels written in a message are dropped).
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "\ue000" not in snippet and "\ue001" not in snippet


@pytest.mark.django_db
def test_a_long_message_gives_a_short_snippet_around_the_match(api, alice, bob, team):
    words = " ".join(f"word{i}" for i in range(300))
    post(team, bob, f"{words} needle {words}")
    [hit] = search(api(alice), "needle")["messages"]
    assert "<mark>needle</mark>" in hit["snippet"]
    assert len(hit["snippet"]) < 400
    assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, code",
    [
        ({}, "invalid_q"),
        ({"q": ""}, "invalid_q"),
        ({"q": "   "}, "invalid_q"),
        ({"q": "x" * 257}, "invalid_q"),
        ({"q": "a\x00b"}, "invalid_q"),  # PostgreSQL takes no NUL in text
        ({"q": "x", "limit": "0"}, "invalid_limit"),
        ({"q": "x", "limit": "51"}, "invalid_limit"),
        ({"q": "x", "limit": "ten"}, "invalid_limit"),
        ({"q": "x", "conversation": "abc"}, "invalid_conversation"),
        ({"q": "x", "conversation": str(2**63)}, "invalid_conversation"),
        ({"q": "x", "sender": "-1"}, "invalid_sender"),
        ({"q": "x", "before": "yesterday"}, "invalid_before"),
        ({"q": "x", "after": "2026-13-01"}, "invalid_after"),
    ],
)
def test_bad_input_is_a_400_with_a_code(api, alice, params, code):
    assert error(api(alice).get(URL, params), 400) == code


@pytest.mark.django_db
def test_an_unknown_conversation_or_sender_is_a_404(api, alice):
    assert error(api(alice).get(URL, {"q": "x", "conversation": 987654}), 404) == "not_found"
    assert error(api(alice).get(URL, {"q": "x", "sender": 987654}), 404) == "not_found"


@pytest.mark.django_db
def test_odd_text_is_searched_not_refused(api, alice, bob, team):
    post(team, bob, "it's 100% done: a&b | c (d) !e <f> 'g' :*")
    for q in ["it's", "100%", "a&b", "|", "(d)", "!e", "<f>", ":*", "'", "\\", "%_", "🙂"]:
        search(api(alice), q)


# --- cost ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 12])
def test_query_count_does_not_grow_with_the_hits(api, alice, bob, carol, space, django_assert_max_num_queries, count):
    room = room_of(space, bob)
    for i in range(count):
        conversation = group_with(alice, bob, title=f"Ops {i}")
        message = post(conversation, bob, f"ops alert {i}")
        services.reaction_add(actor=alice, message=message, emoji="👍")
        post(room, bob, f"ops in the room {i}")
        UserFactory(company=alice.company, display_name=f"Ops Person {i}")
        SpaceFactory(company=alice.company, name=f"Ops room {i}")
    client = api(alice)
    with django_assert_max_num_queries(20):
        body = search(client, "ops")
    assert len(body["messages"]) == min(20, 2 * count)
    assert len(body["people"]) == count and len(body["conversations"]) == count
