"""REST for calls/: the errors people see, history, and who may touch which call (two companies)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calling import services
from calling.models import Call
from tests.calling.conftest import set_presence

pytestmark = pytest.mark.django_db

ACTIONS = ["accept", "decline", "cancel", "end"]


def test_post_rings_and_returns_the_call(alice, bob, online, api):
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "ringing" and body["kind"] == "voice"
    assert body["caller"]["id"] == alice.id and body["callee"]["name"] == "Bob Baker"
    assert set(body) == {
        "id", "kind", "state", "caller", "callee", "created_at", "expires_at", "answered_at", "ended_at",
        "ended_by", "duration_seconds", "callee_status", "quiet",
    }
    assert body["callee_status"] == "online" and body["quiet"] is False


@pytest.mark.parametrize(
    "payload, field",
    [({"kind": "voice"}, "callee"), ({"callee": "x", "kind": "voice"}, "callee"), ({"callee": 1}, "kind"),
     ({"callee": 1, "kind": "fax"}, "kind")],
)
def test_bad_input_is_a_field_error(alice, online, api, payload, field):
    response = api(alice).post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "prepare, status, code",
    [
        (lambda alice, bob: None, 201, None),
        (lambda alice, bob: set_presence(bob, connected=False), 409, "callee_offline"),
        (lambda alice, bob: set_presence(bob, status="dnd"), 409, "callee_dnd"),
    ],
)
def test_refusals_are_json_with_a_sentence(alice, bob, online, api, prepare, status, code):
    prepare(alice, bob)
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "video"}, format="json")
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code and "Bob Baker" in response.json()["detail"]


def test_self_and_busy_over_rest(alice, bob, carol, online, api):
    response = api(alice).post("/api/v1/calls/", {"callee": alice.id, "kind": "voice"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "You cannot call yourself.", "code": "self_call"}
    api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    response = api(carol).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Bob Baker is already in a call; try again later.", "code": "busy"}


def test_full_lifecycle_over_rest(alice, bob, ring, api):
    call = ring(alice, bob)
    response = api(bob).post(f"/api/v1/calls/{call.id}/accept/")
    assert response.status_code == 200 and response.json()["state"] == "accepted"
    response = api(bob).post(f"/api/v1/calls/{call.id}/accept/")
    assert response.status_code == 409
    assert response.json() == {"detail": "This call was already answered.", "code": "already_accepted"}
    response = api(alice).post(f"/api/v1/calls/{call.id}/end/")
    assert response.status_code == 200 and response.json()["state"] == "ended"
    assert response.json()["ended_by"] == alice.id and response.json()["duration_seconds"] == 0


def test_late_accept_over_rest(alice, bob, ring, api):
    call = ring(alice, bob)
    Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(bob).post(f"/api/v1/calls/{call.id}/accept/")
    assert response.status_code == 409
    assert response.json()["code"] == "call_expired"
    assert api(bob).get(f"/api/v1/calls/{call.id}/").json()["state"] == "missed"


def test_wrong_party_is_forbidden_with_a_reason(alice, bob, ring, api):
    call = ring(alice, bob)
    response = api(alice).post(f"/api/v1/calls/{call.id}/accept/")
    assert response.status_code == 403 and response.json()["code"] == "not_callee"
    response = api(bob).post(f"/api/v1/calls/{call.id}/cancel/")
    assert response.status_code == 403 and response.json()["code"] == "not_caller"


# -- who may see and touch a call ---------------------------------------------------------------


@pytest.fixture
def acme_call(alice, bob, ring):
    return ring(alice, bob)


@pytest.mark.parametrize("who", ["carol", "mallory", "admin_user"])
def test_outsiders_get_404_on_every_call_endpoint(request, acme_call, api, who):
    """Another company, and also a colleague or admin who is not a party: the call does not exist for them."""
    outsider = request.getfixturevalue(who)
    client = api(outsider)
    assert client.get(f"/api/v1/calls/{acme_call.id}/").status_code == 404
    for action in ACTIONS:
        response = client.post(f"/api/v1/calls/{acme_call.id}/{action}/")
        assert response.status_code == 404, action
        assert response.json() == {"detail": "No such call.", "code": "call_not_found"}
    assert client.get("/api/v1/calls/").json() == []
    acme_call.refresh_from_db()
    assert acme_call.state == "ringing"


def test_anonymous_gets_401_everywhere(acme_call, api):
    client = api(None)
    assert client.get("/api/v1/calls/").status_code == 401
    assert client.post("/api/v1/calls/", {"callee": 1, "kind": "voice"}, format="json").status_code == 401
    assert client.get(f"/api/v1/calls/{acme_call.id}/").status_code == 401
    for action in ACTIONS:
        assert client.post(f"/api/v1/calls/{acme_call.id}/{action}/").status_code == 401


def test_cannot_ring_another_company(alice, mallory, online, api):
    set_presence(mallory)
    response = api(mallory).post("/api/v1/calls/", {"callee": alice.id, "kind": "voice"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such person in your company.", "code": "user_not_found"}
    assert not Call.objects.exists()


def test_unknown_call_id(alice, api):
    assert api(alice).get("/api/v1/calls/999999/").status_code == 404
    assert api(alice).post("/api/v1/calls/999999/accept/").status_code == 404


# -- history ---------------------------------------------------------------------------------


def test_history_is_mine_newest_first(alice, bob, carol, ring, api):
    first = ring(alice, bob)
    services.call_decline(actor=bob, call=first)
    second = ring(carol, alice)
    services.call_cancel(actor=carol, call=second)
    other = ring(bob, carol)
    response = api(alice).get("/api/v1/calls/")
    assert [c["id"] for c in response.json()] == [second.id, first.id]
    assert [c["state"] for c in response.json()] == ["cancelled", "declined"]
    assert [c["id"] for c in api(carol).get("/api/v1/calls/").json()] == [other.id, second.id]
    page = api(alice).get(f"/api/v1/calls/?limit=1&before={second.id}").json()
    assert [c["id"] for c in page] == [first.id]
    assert api(alice).get("/api/v1/calls/?limit=0").status_code == 400


def test_history_query_count_does_not_grow(alice, bob, ring, api, django_assert_max_num_queries):
    def make(n: int) -> None:
        for _ in range(n):
            services.call_cancel(actor=alice, call=ring(alice, bob))

    make(2)
    with django_assert_max_num_queries(4) as few:
        assert len(api(alice).get("/api/v1/calls/").json()) == 2
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api(alice).get("/api/v1/calls/").json()) == 22
