"""REST for teleports/: shapes, errors, and who may touch which invitation (two companies)."""

import pytest

from calling import services
from calling.models import Teleport
from presence.models import Presence
from spaces import services as space_services
from tests.calling.conftest import set_presence
from tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teleport(alice, bob, online, space):
    space_services.space_enter(actor=alice, space=space)
    return services.teleport_create(actor=alice, invitee_id=bob.id)


def test_post_and_accept(alice, bob, online, space, api):
    space_services.space_enter(actor=alice, space=space)
    response = api(alice).post("/api/v1/teleports/", {"invitee": bob.id}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "pending" and body["space"] == {"id": space.id, "name": "Lounge"}
    assert body["inviter"]["id"] == alice.id and body["invitee"]["id"] == bob.id
    response = api(bob).post(f"/api/v1/teleports/{body['id']}/accept/")
    assert response.status_code == 200 and response.json()["state"] == "accepted"
    assert Presence.objects.get(user=bob).current_space_id == space.id
    assert [t["id"] for t in api(bob).get("/api/v1/teleports/").json()] == [body["id"]]
    assert api(alice).get(f"/api/v1/teleports/{body['id']}/").json()["state"] == "accepted"


def test_post_with_a_space_and_refusals(alice, bob, company, online, api):
    kitchen = SpaceFactory(company=company, name="Kitchen")
    client = api(alice)
    response = client.post("/api/v1/teleports/", {"invitee": bob.id}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_in_space"
    response = client.post("/api/v1/teleports/", {"invitee": bob.id, "space": None}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_in_space"
    response = client.post("/api/v1/teleports/", {"invitee": "bob"}, format="json")
    assert response.status_code == 400 and "invitee" in response.json()
    response = client.post("/api/v1/teleports/", {"invitee": alice.id, "space": kitchen.id}, format="json")
    assert response.json() == {"detail": "You cannot invite yourself.", "code": "self_invite"}
    response = client.post("/api/v1/teleports/", {"invitee": bob.id, "space": 999999}, format="json")
    assert response.status_code == 404
    response = client.post("/api/v1/teleports/", {"invitee": bob.id, "space": kitchen.id}, format="json")
    assert response.status_code == 201 and response.json()["space"]["name"] == "Kitchen"


def test_full_space_refusal_passes_through(alice, bob, teleport, space, api):
    space.capacity = 1
    space.save()
    response = api(bob).post(f"/api/v1/teleports/{teleport.id}/accept/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Lounge is full (1 people).", "code": "space_full"}


def test_decline_over_rest(bob, teleport, api):
    response = api(bob).post(f"/api/v1/teleports/{teleport.id}/decline/")
    assert response.status_code == 200 and response.json()["state"] == "declined"
    response = api(bob).post(f"/api/v1/teleports/{teleport.id}/decline/")
    assert response.status_code == 409 and response.json()["code"] == "teleport_declined"


def test_inviter_cannot_answer(alice, teleport, api):
    response = api(alice).post(f"/api/v1/teleports/{teleport.id}/accept/")
    assert response.status_code == 403 and response.json()["code"] == "not_invitee"


@pytest.mark.parametrize("who", ["carol", "mallory", "admin_user"])
def test_outsiders_get_404_on_every_teleport_endpoint(request, teleport, api, who):
    client = api(request.getfixturevalue(who))
    assert client.get(f"/api/v1/teleports/{teleport.id}/").status_code == 404
    for action in ("accept", "decline"):
        response = client.post(f"/api/v1/teleports/{teleport.id}/{action}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "No such teleport invitation.", "code": "teleport_not_found"}
    assert client.get("/api/v1/teleports/").json() == []
    teleport.refresh_from_db()
    assert teleport.state == "pending"


def test_other_company_cannot_invite_or_be_invited(alice, bob, mallory, other_company, online, space, api):
    set_presence(mallory)
    globex = SpaceFactory(company=other_company, name="Globex HQ")
    response = api(mallory).post("/api/v1/teleports/", {"invitee": bob.id, "space": globex.id}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "user_not_found"
    response = api(alice).post("/api/v1/teleports/", {"invitee": mallory.id, "space": space.id}, format="json")
    assert response.status_code == 404
    response = api(mallory).post("/api/v1/teleports/", {"invitee": mallory.id, "space": space.id}, format="json")
    assert response.status_code in (400, 404)
    assert not Teleport.objects.exists()


def test_anonymous(teleport, api):
    client = api(None)
    assert client.get("/api/v1/teleports/").status_code == 401
    assert client.post("/api/v1/teleports/", {"invitee": 1}, format="json").status_code == 401
    assert client.get(f"/api/v1/teleports/{teleport.id}/").status_code == 401
    for action in ("accept", "decline"):
        assert client.post(f"/api/v1/teleports/{teleport.id}/{action}/").status_code == 401
