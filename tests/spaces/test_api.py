"""REST for spaces: list / CRUD (company admins write), enter / leave, the room conversation, meetings."""

import pytest
from guardian.shortcuts import assign_perm

from messaging.models import Conversation, Message, Participant
from presence.models import Presence
from spaces import services
from spaces.models import Meeting, Space
from tests.factories import SpaceFactory, UserFactory


def url(space: Space, action: str = "") -> str:
    return f"/api/v1/spaces/{space.id}/" + (f"{action}/" if action else "")


def where(user) -> int | None:
    return Presence.objects.get(user=user).current_space_id


# --- list and detail ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_my_company_floor_with_occupants(api, alice, bob, space, mallory):
    SpaceFactory(company=mallory.company, name="Their lounge")
    desk = SpaceFactory(company=alice.company, name="Desk", x=10, y=20, w=30, h=40, kind="focus")
    services.space_enter(actor=bob, space=space)
    rows = api(alice).get("/api/v1/spaces/").json()
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Lounge", "Desk"}
    assert by_name["Lounge"]["occupants"] == [bob.id]
    assert by_name["Lounge"]["conversation"] == Conversation.objects.get(space=space).id
    assert by_name["Desk"] == {
        "id": desk.id, "name": "Desk", "kind": "focus", "capacity": 8, "status": "available", "is_private": False,
        "x": 10, "y": 20, "w": 30, "h": 40, "occupants": [], "meeting": None, "conversation": None,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_list_query_count_does_not_grow(api, alice, django_assert_max_num_queries, count):
    for n in range(count):
        space = SpaceFactory(company=alice.company, capacity=2)
        services.space_enter(actor=UserFactory(company=alice.company), space=space)
        if n % 2:
            services.meeting_start(actor=alice, space=space, title=f"Standup {n}")
    client = api(alice)
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/spaces/")
    rows = response.json()
    assert len(rows) == count and all(len(row["occupants"]) == 1 for row in rows)
    assert sum(row["meeting"] is not None for row in rows) == count // 2


@pytest.mark.django_db
def test_detail(api, alice, space):
    body = api(alice).get(url(space)).json()
    assert body["id"] == space.id and body["name"] == "Lounge" and body["capacity"] == 3


# --- create / update / delete (company admins) -------------------------------------------------------


@pytest.mark.django_db
def test_admin_creates_a_space(api, admin_user):
    payload = {"name": "Boardroom", "kind": "meeting_room", "capacity": 12, "x": 5, "y": 6, "w": 100, "h": 80}
    response = api(admin_user).post("/api/v1/spaces/", payload, format="json")
    assert response.status_code == 201, response.json()
    space = Space.objects.get(pk=response.json()["id"])
    assert space.company_id == admin_user.company_id and space.capacity == 12 and space.kind == "meeting_room"
    assert response.json()["status"] == "available" and response.json()["occupants"] == []


@pytest.mark.django_db
def test_admin_creating_a_private_space_may_enter_it(api, admin_user):
    response = api(admin_user).post("/api/v1/spaces/", {"name": "Vault", "is_private": True}, format="json")
    assert response.status_code == 201
    space = Space.objects.get(pk=response.json()["id"])
    assert admin_user.has_perm("spaces.enter_space", space)


@pytest.mark.django_db
def test_member_cannot_create(api, alice):
    response = api(alice).post("/api/v1/spaces/", {"name": "Mine"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Space.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "A", "capacity": 0}, "capacity"),
        ({"name": "A", "capacity": "lots"}, "capacity"),
        ({"name": "A", "capacity": 501}, "capacity"),
        ({"name": "A", "kind": "castle"}, "kind"),
        ({"name": "A", "status": "demolished"}, "status"),
        ({"name": "A", "is_private": "maybe"}, "is_private"),
        ({"name": "A", "x": -1}, "x"),
        ({"name": ["A"]}, "name"),
    ],
)
def test_create_validates(api, admin_user, space, payload, field):
    response = api(admin_user).post("/api/v1/spaces/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Space.objects.count() == 1


@pytest.mark.django_db
def test_create_with_a_taken_name_is_409(api, admin_user, space, mallory):
    response = api(admin_user).post("/api/v1/spaces/", {"name": "Lounge"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "name_taken"
    assert Space.objects.count() == 1
    # Names are per company: another company may use it.
    mallory.is_company_admin = True
    mallory.save()
    assert api(mallory).post("/api/v1/spaces/", {"name": "Lounge"}, format="json").status_code == 201


@pytest.mark.django_db
def test_admin_updates_a_space(api, admin_user, space):
    response = api(admin_user).patch(url(space), {"capacity": 5, "x": 300}, format="json")
    assert response.status_code == 200 and response.json()["capacity"] == 5 and response.json()["x"] == 300
    space.refresh_from_db()
    assert (space.capacity, space.x, space.name) == (5, 300, "Lounge")


@pytest.mark.django_db
def test_update_validates_and_writes_nothing(api, admin_user, space):
    SpaceFactory(company=space.company, name="Desk")
    for payload, status in [({"capacity": -2}, 400), ({"kind": 7}, 400), ({"name": "Desk"}, 409)]:
        response = api(admin_user).patch(url(space), payload, format="json")
        assert response.status_code == status, payload
    space.refresh_from_db()
    assert (space.name, space.capacity, space.kind) == ("Lounge", 3, "office")


@pytest.mark.django_db
def test_closing_a_space_sends_its_occupants_out(api, admin_user, alice, space):
    services.space_enter(actor=alice, space=space)
    response = api(admin_user).patch(url(space), {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert response.json()["occupants"] == []
    assert where(alice) is None
    events = list(Message.objects.filter(conversation__space=space).values_list("system__event", flat=True))
    assert events == ["joined", "status_changed", "left"]


@pytest.mark.django_db
def test_admin_deletes_a_space(api, admin_user, alice, space):
    services.space_enter(actor=alice, space=space)
    response = api(admin_user).delete(url(space))
    assert response.status_code == 204
    assert not Space.objects.filter(pk=space.pk).exists()
    assert where(alice) is None


# --- enter / leave ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enter_moves_me_and_joins_the_room(api, alice, space):
    response = api(alice).post(url(space, "enter"))
    assert response.status_code == 200, response.json()
    assert response.json()["current_space"] == space.id and response.json()["user"] == alice.id
    assert where(alice) == space.id
    conversation = Conversation.objects.get(space=space)
    assert Participant.objects.get(conversation=conversation, user=alice).is_active


@pytest.mark.django_db
def test_entering_another_space_leaves_the_first(api, alice, space):
    desk = SpaceFactory(company=space.company, name="Desk")
    api(alice).post(url(space, "enter"))
    assert api(alice).post(url(desk, "enter")).status_code == 200
    assert where(alice) == desk.id
    assert not Participant.objects.get(conversation__space=space, user=alice).is_active
    assert api(alice).get(url(space)).json()["occupants"] == []


@pytest.mark.django_db
def test_entering_again_is_harmless(api, alice, space):
    api(alice).post(url(space, "enter"))
    rev = Conversation.objects.get(space=space).rev
    assert api(alice).post(url(space, "enter")).status_code == 200
    assert Conversation.objects.get(space=space).rev == rev


@pytest.mark.django_db
def test_enter_full_space_is_409(api, alice, space):
    for _ in range(space.capacity):
        services.space_enter(actor=UserFactory(company=space.company), space=space)
    response = api(alice).post(url(space, "enter"))
    assert response.status_code == 409 and response.json()["code"] == "space_full"
    assert "full" in response.json()["detail"]
    assert where(alice) is None


@pytest.mark.django_db
def test_enter_closed_space_is_409(api, alice, space):
    space.status = Space.Status.CLOSED
    space.save()
    response = api(alice).post(url(space, "enter"))
    assert response.status_code == 409 and response.json()["code"] == "space_closed"
    assert where(alice) is None


@pytest.mark.django_db
def test_full_space_refusal_keeps_me_where_i_was(api, alice, space):
    desk = SpaceFactory(company=space.company, name="Desk", capacity=1)
    services.space_enter(actor=UserFactory(company=space.company), space=desk)
    api(alice).post(url(space, "enter"))
    assert api(alice).post(url(desk, "enter")).status_code == 409
    assert where(alice) == space.id


@pytest.mark.django_db
def test_private_space_needs_a_guardian_grant(api, alice, bob, admin_user, space):
    space.is_private = True
    space.save()
    response = api(alice).post(url(space, "enter"))
    assert response.status_code == 409 and response.json()["code"] == "space_private"
    assert where(alice) is None
    assign_perm("spaces.enter_space", alice, space)
    assert api(alice).post(url(space, "enter")).status_code == 200
    assert where(alice) == space.id
    assert api(bob).post(url(space, "enter")).status_code == 409  # the grant was alice's only
    assert api(admin_user).post(url(space, "enter")).status_code == 200


@pytest.mark.django_db
def test_global_permission_does_not_open_private_spaces(api, alice, space):
    from django.contrib.auth.models import Permission

    space.is_private = True
    space.save()
    alice.user_permissions.add(Permission.objects.get(codename="enter_space"))
    assert api(alice).post(url(space, "enter")).status_code == 409


@pytest.mark.django_db
def test_leave(api, alice, space):
    api(alice).post(url(space, "enter"))
    response = api(alice).post(url(space, "leave"))
    assert response.status_code == 200 and response.json()["current_space"] is None
    assert where(alice) is None
    assert not Participant.objects.get(conversation__space=space, user=alice).is_active


@pytest.mark.django_db
def test_leave_a_space_i_am_not_in_is_409(api, alice, space):
    desk = SpaceFactory(company=space.company, name="Desk")
    api(alice).post(url(desk, "enter"))
    response = api(alice).post(url(space, "leave"))
    assert response.status_code == 409 and response.json()["code"] == "not_in_space"
    assert where(alice) == desk.id


@pytest.mark.django_db
def test_a_company_admin_removes_someone_from_a_space(api, admin_user, alice, space):
    api(alice).post(url(space, "enter"))
    response = api(admin_user).post(url(space, "remove"), {"user": alice.id}, format="json")
    assert response.status_code == 200 and response.json()["current_space"] is None
    assert where(alice) is None
    assert not Participant.objects.get(conversation__space=space, user=alice).is_active
    note = Message.objects.filter(conversation__space=space, kind=Message.Kind.SYSTEM).order_by("seq").last()
    assert note.body == f"{alice.name} was removed by {admin_user.name}"


@pytest.mark.django_db
def test_removing_from_a_space_is_for_company_admins_of_that_company(
    api, admin_user, alice, bob, mallory, space, other_company
):
    api(alice).post(url(space, "enter"))
    refused = api(bob).post(url(space, "remove"), {"user": alice.id}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    their_admin = UserFactory(company=other_company, is_company_admin=True)
    assert api(their_admin).post(url(space, "remove"), {"user": alice.id}, format="json").status_code == 404
    # An admin names someone of another company, somebody not in the space, or nobody.
    assert api(admin_user).post(url(space, "remove"), {"user": mallory.id}, format="json").status_code == 404
    not_in = api(admin_user).post(url(space, "remove"), {"user": bob.id}, format="json")
    assert not_in.status_code == 409 and not_in.json()["code"] == "not_in_space"
    assert api(admin_user).post(url(space, "remove"), {}, format="json").status_code == 400
    assert where(alice) == space.id


# --- the room conversation ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_room_conversation_is_created_once(api, alice, bob, space):
    first = api(alice).get(url(space, "conversation"))
    assert first.status_code == 200
    body = first.json()
    assert body["kind"] == "room" and body["space"] == space.id and body["title"] == "Lounge"
    assert body["participants"] == [] and body["unread_count"] == 0
    assert api(bob).get(url(space, "conversation")).json()["id"] == body["id"]
    assert Conversation.objects.filter(space=space).count() == 1


@pytest.mark.django_db
def test_room_conversation_shows_history_and_occupants(api, alice, bob, space):
    services.space_enter(actor=bob, space=space)
    body = api(alice).get(url(space, "conversation")).json()
    assert body["participants"] == [bob.id]
    assert body["last_message"]["kind"] == "system" and body["last_message"]["system"]["event"] == "joined"


@pytest.mark.django_db
def test_private_room_conversation_is_hidden_without_a_grant(api, alice, space):
    space.is_private = True
    space.save()
    response = api(alice).get(url(space, "conversation"))
    assert response.status_code == 404
    assert not Conversation.objects.filter(space=space).exists()
    assign_perm("spaces.enter_space", alice, space)
    assert api(alice).get(url(space, "conversation")).status_code == 200


# --- meetings -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_meeting_start_and_end(api, alice, space):
    services.space_enter(actor=alice, space=space)
    response = api(alice).post(url(space, "meeting"), {"title": "Standup"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["title"] == "Standup" and response.json()["started_by"] == alice.id
    assert response.json()["ended_at"] is None
    detail = api(alice).get(url(space)).json()
    assert detail["status"] == "in_use" and detail["meeting"]["title"] == "Standup"
    ended = api(alice).delete(url(space, "meeting"))
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    assert ended.json()["duration_seconds"] >= 0
    assert api(alice).get(url(space)).json()["status"] == "available"
    notes = list(Message.objects.filter(conversation__space=space).values_list("system__event", flat=True))
    assert notes == ["joined", "meeting_started", "meeting_ended"]


@pytest.mark.django_db
def test_a_second_meeting_is_409(api, alice, space):
    services.space_enter(actor=alice, space=space)
    api(alice).post(url(space, "meeting"), {"title": "One"}, format="json")
    response = api(alice).post(url(space, "meeting"), {"title": "Two"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "meeting_running"
    assert Meeting.objects.count() == 1


@pytest.mark.django_db
def test_ending_without_a_meeting_is_409(api, alice, space):
    services.space_enter(actor=alice, space=space)
    response = api(alice).delete(url(space, "meeting"))
    assert response.status_code == 409 and response.json()["code"] == "no_meeting"


@pytest.mark.django_db
def test_no_meeting_in_a_closed_space(api, admin_user, space):
    space.status = Space.Status.CLOSED
    space.save()
    response = api(admin_user).post(url(space, "meeting"), {"title": "Sneaky"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "space_closed"
    assert not Meeting.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": ["a"]}])
def test_meeting_title_is_validated(api, alice, space, payload):
    services.space_enter(actor=alice, space=space)
    rev = Conversation.objects.get(space=space).rev
    response = api(alice).post(url(space, "meeting"), payload, format="json")
    assert response.status_code == 400
    assert "title" in response.json() or response.json()["code"] == "invalid_title"
    assert not Meeting.objects.exists()
    assert Conversation.objects.get(space=space).rev == rev
    assert Space.objects.get(pk=space.pk).status == "available"
