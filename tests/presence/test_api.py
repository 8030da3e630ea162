"""REST for me/, users/ and presence/: shapes, company isolation, validation, query bounds."""

import pytest
from rest_framework.test import APIClient

from presence.models import Presence
from tests.factories import SpaceFactory, UserFactory


def connect(user, status: str = Presence.Status.ONLINE) -> Presence:
    """What an open socket does to presence (the socket itself is tested elsewhere)."""
    Presence.objects.filter(user=user).update(connected=True, status=status)
    return Presence.objects.get(user=user)


@pytest.mark.django_db
def test_me_shows_company_and_presence(api, alice, space):
    connect(alice, Presence.Status.BUSY)
    Presence.objects.filter(user=alice).update(current_space=space)
    body = api(alice).get("/api/v1/me/").json()
    assert body["id"] == alice.id and body["username"] == "alice" and body["name"] == "Alice Archer"
    assert body["initials"] == "AA" and body["colour"].startswith("#")
    assert body["company"] == {"id": alice.company_id, "slug": "acme", "name": "Acme"}
    assert body["status"] == "busy" and body["current_space"] == space.id
    assert body["presence"]["status"] == "busy" and body["presence"]["chosen_status"] == "busy"
    assert body["presence"]["current_space"] == space.id


@pytest.mark.django_db
def test_me_is_offline_without_a_socket(api, alice):
    body = api(alice).get("/api/v1/me/").json()
    assert body["status"] == "offline" and body["presence"]["chosen_status"] == "online"


@pytest.mark.django_db
def test_users_lists_my_company_only_with_presence(api, alice, bob, admin_user, mallory, space):
    connect(bob, Presence.Status.AWAY)
    Presence.objects.filter(user=bob).update(current_space=space)
    UserFactory(company=alice.company, username="gone", is_active=False)
    rows = api(alice).get("/api/v1/users/").json()
    by_name = {row["username"]: row for row in rows}
    assert set(by_name) == {"alice", "bob", "boss"}
    assert by_name["bob"]["status"] == "away" and by_name["bob"]["current_space"] == space.id
    assert by_name["alice"]["status"] == "offline" and by_name["alice"]["current_space"] is None
    assert by_name["boss"]["is_company_admin"] is True
    assert {"last_seen", "name", "initials", "colour"} <= set(by_name["bob"])
    assert [row["username"] for row in api(mallory).get("/api/v1/users/").json()] == ["mallory"]


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_users_query_count_does_not_grow(api, alice, django_assert_max_num_queries, count):
    for _ in range(count):
        user = UserFactory(company=alice.company)
        connect(user)
    client = api(alice)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/users/")
    assert len(response.json()) == count + 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["online", "away", "busy", "dnd"])
def test_put_presence_sets_my_status(api, alice, status):
    connect(alice)
    response = api(alice).put("/api/v1/presence/", {"status": status}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == status and response.json()["user"] == alice.id
    assert Presence.objects.get(user=alice).status == status


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [{}, {"status": "offline"}, {"status": "asleep"}, {"status": 3}, {"status": None}, {"status": ["busy"]}],
)
def test_put_presence_rejects_bad_status(api, alice, payload):
    connect(alice)
    response = api(alice).put("/api/v1/presence/", payload, format="json")
    assert response.status_code == 400
    assert "status" in response.json()
    assert Presence.objects.get(user=alice).status == "online"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/v1/me/"), ("get", "/api/v1/users/"), ("put", "/api/v1/presence/")],
)
def test_anonymous_gets_401(method, path):
    response = getattr(APIClient(), method)(path, {"status": "busy"}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_users_never_shows_another_company(api, alice, mallory):
    other_space = SpaceFactory(company=mallory.company)
    Presence.objects.filter(user=mallory).update(current_space=other_space)
    assert mallory.id not in [row["id"] for row in api(alice).get("/api/v1/users/").json()]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["member", "other", "admin", "foreign"])
@pytest.mark.parametrize(
    "method, path, expected",
    [("get", "/api/v1/me/", 200), ("get", "/api/v1/users/", 200), ("put", "/api/v1/presence/", 200)],
)
def test_every_signed_in_person_reaches_their_own_presence(api, alice, bob, admin_user, mallory, role, method, path,
                                                           expected):
    user = {"member": alice, "other": bob, "admin": admin_user, "foreign": mallory}[role]
    response = getattr(api(user), method)(path, {"status": "away"}, format="json")
    assert response.status_code == expected
    if path == "/api/v1/users/":
        assert {row["id"] for row in response.json()} == set(
            type(user).objects.filter(company=user.company).values_list("id", flat=True)
        )
    if method == "put":
        assert Presence.objects.get(user=user).status == "away"
        others = Presence.objects.exclude(user=user).values_list("status", flat=True)
        assert set(others) == {"online"}


@pytest.mark.django_db
def test_the_users_list_rows_are_exactly_what_the_serializer_renders(alice, bob, carol, company, space):
    """users/ builds its rows by hand for speed (presence.api.serializers.user_rows); they must never
    drift from UserOut, the shape the schema documents, in any state a person can be in."""
    from datetime import timedelta

    from django.utils import timezone

    from presence.api.serializers import UserOut, user_rows
    from presence.selectors import user_list

    soon = timezone.now() + timedelta(hours=1)
    Presence.objects.filter(user=alice).update(
        connected=True, status="dnd", status_text="Focus", status_emoji="🎧", status_until=soon,
        current_space=space, last_seen=timezone.now(),
    )
    Presence.objects.filter(user=bob).update(connected=True, engagements={"in_call": ["call.1"]})
    UserFactory(company=company, username="nopresence").presence.delete()
    UserFactory(company=company, display_name="", first_name="", last_name="", avatar_colour="#123456")
    users = list(user_list(user=alice))
    assert len(users) == 5
    assert user_rows(users) == UserOut(users, many=True).data
    assert {r["status"] for r in user_rows(users)} >= {"dnd", "busy", "offline"}
