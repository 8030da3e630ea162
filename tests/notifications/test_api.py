"""REST of notifications: the list (newest first, unread, limit, keyset), marking read, `me/`'s
count, bad input as 400 `{detail, code}` or field errors, another company's rows never reached, and
the list's query count."""

import pytest

from notifications.models import Notification
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def notify(recipient, kind="knock", actor=None, **fields) -> Notification:
    return Notification.objects.create(
        company_id=recipient.company_id, recipient=recipient, kind=kind, actor=actor, **fields
    )


def test_list_newest_first_with_the_contract_fields(api, alice, bob, space):
    first = notify(alice, "knock", bob, space=space)
    second = notify(alice, "teleport_missed", bob, space=space)
    notify(bob, "knock", alice, space=space)  # someone else's
    rows = api(alice).get(URL).json()
    assert [row["id"] for row in rows] == [second.id, first.id]
    assert set(rows[0]) >= {"id", "kind", "actor", "conversation", "message", "space", "call", "created_at", "read"}
    assert rows[1] | {"created_at": None} == {
        "id": first.id, "kind": "knock", "actor": bob.id, "conversation": None, "message": None,
        "space": space.id, "call": None, "created_at": None, "read": False, "excerpt": "",
    }  # fmt: skip


def test_unread_limit_and_before(api, alice, bob, space):
    rows = [notify(alice, "knock", bob, space=space) for _ in range(5)]
    client = api(alice)
    client.post(f"{URL}read/", {"ids": [rows[4].id, rows[2].id]}, format="json")
    unread = client.get(f"{URL}?unread=1").json()
    assert [row["id"] for row in unread] == [rows[3].id, rows[1].id, rows[0].id]
    assert [row["id"] for row in client.get(f"{URL}?limit=2").json()] == [rows[4].id, rows[3].id]
    assert [row["id"] for row in client.get(f"{URL}?limit=2&before={rows[3].id}").json()] == [rows[2].id, rows[1].id]
    assert client.get(f"{URL}?unread=0").json()[0]["read"] is True


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "unread=maybe", "before=-1", "before=abc"])
def test_bad_queries_are_400(api, alice, query):
    response = api(alice).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code"} and response.json()["code"].startswith("invalid_")


def test_mark_read_by_ids_all_or_conversation(api, alice, bob, space):
    from messaging import services as messaging_services

    chat, _ = messaging_services.direct_get_or_create(actor=alice, other_id=bob.id)
    a, b, c = (notify(alice, "knock", bob, space=space) for _ in range(3))
    d = notify(alice, "direct", bob, conversation=chat)
    client = api(alice)
    response = client.post(f"{URL}read/", {"ids": [a.id]}, format="json")
    assert response.json() == {"marked": 1, "notifications_unread": 3}
    assert client.post(f"{URL}read/", {"ids": [a.id]}, format="json").json()["marked"] == 0  # already read
    assert client.post(f"{URL}read/", {"conversation": chat.id}, format="json").json() == {
        "marked": 1,
        "notifications_unread": 2,
    }
    assert Notification.objects.get(pk=d.id).read
    assert client.post(f"{URL}read/", {"all": True}, format="json").json() == {"marked": 2, "notifications_unread": 0}
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()
    assert {b.id, c.id} <= set(Notification.objects.filter(read_at__isnull=False).values_list("id", flat=True))


@pytest.mark.parametrize(
    "body",
    [{}, {"all": False}, {"ids": [1], "all": True}, {"ids": "1"}, {"ids": ["1"]}, {"ids": [0]}, {"conversation": "x"}],
)
def test_bad_read_bodies_are_400(api, alice, body):
    response = api(alice).post(f"{URL}read/", body, format="json")
    assert response.status_code == 400, response.json()


def test_me_counts_unread_notifications(api, alice, bob, space):
    client = api(alice)
    assert client.get("/api/v1/me/").json()["notifications_unread"] == 0
    first = notify(alice, "knock", bob, space=space)
    notify(alice, "knock", bob, space=space)
    me = client.get("/api/v1/me/").json()
    assert me["notifications_unread"] == 2
    assert me["id"] == alice.id and me["company"]["slug"] == "acme" and "presence" in me  # presence's answer
    client.post(f"{URL}read/", {"ids": [first.id]}, format="json")
    assert client.get("/api/v1/me/").json()["notifications_unread"] == 1


def test_another_companys_notifications_are_never_reached(api, alice, bob, mallory, space):
    theirs = SpaceFactory(company=mallory.company, name="Their room")
    mine = notify(alice, "knock", bob, space=space)
    notify(mallory, "knock", None, space=theirs)
    # Mallory lists only her own, and cannot mark Alice's read (by id or all at once).
    assert [row["space"] for row in api(mallory).get(URL).json()] == [theirs.id]
    assert api(mallory).post(f"{URL}read/", {"ids": [mine.id]}, format="json").json()["marked"] == 0
    api(mallory).post(f"{URL}read/", {"all": True}, format="json")
    assert not Notification.objects.get(pk=mine.id).read
    assert [row["id"] for row in api(alice).get(URL).json()] == [mine.id]
    assert api(mallory).get("/api/v1/me/").json()["notifications_unread"] == 0
    assert api(alice).get("/api/v1/me/").json()["notifications_unread"] == 1


def test_anonymous_is_401(api):
    assert api(None).get(URL).status_code == 401
    assert api(None).post(f"{URL}read/", {"all": True}, format="json").status_code == 401


@pytest.mark.parametrize("count", [3, 40])
def test_list_query_count_does_not_grow(api, alice, company, django_assert_max_num_queries, count):
    from messaging import services as messaging_services
    from tests.factories import group_with

    others = [UserFactory(company=company) for _ in range(3)]
    chat = group_with(alice, *others)
    for n in range(count):
        message, _ = messaging_services.message_send(actor=others[n % 3], conversation=chat, body=f"message {n}")
        notify(alice, "direct", others[n % 3], conversation=chat, message=message)
    client = api(alice)
    with django_assert_max_num_queries(3):
        rows = client.get(f"{URL}?limit=100").json()
    assert len(rows) == count and rows[0]["excerpt"] == f"message {count - 1}"


def test_excerpt_follows_edits_and_deletion(api, alice, bob):
    from messaging import services as messaging_services
    from tests.factories import group_with

    chat = group_with(alice, bob)
    message, _ = messaging_services.message_send(actor=bob, conversation=chat, body="first  words\n" + "x" * 300)
    notify(alice, "direct", bob, conversation=chat, message=message)
    [row] = api(alice).get(URL).json()
    assert row["excerpt"].startswith("first words x") and len(row["excerpt"]) == 140 and row["excerpt"][-1] == "…"
    messaging_services.message_delete(actor=bob, message=message)
    assert api(alice).get(URL).json()[0]["excerpt"] == ""


def test_schema_documents_the_endpoints(api, alice):
    schema = api(alice).get("/api/schema/?format=json").json()
    assert {"/api/v1/notifications/", "/api/v1/notifications/read/", "/api/v1/spaces/{space_id}/knock/"} <= set(
        schema["paths"]
    )
    me = schema["paths"]["/api/v1/me/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "notifications_unread" in schema["components"]["schemas"][me.rsplit("/", 1)[1]]["properties"]
