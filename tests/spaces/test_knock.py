"""Knocking on a space: who may knock where (201 / 409 space_empty / knock_not_needed / 404), the people
inside answering (admit moves the knocker in whatever kept them out; deny), expiry after KNOCK_SECONDS,
the events and their recipients (dnd occupants get no `space.knock`), and every endpoint across two
companies."""

from datetime import timedelta

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from presence.models import Presence
from spaces import services
from spaces.models import Knock
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def knock_url(space) -> str:
    return f"/api/v1/spaces/{space.id}/knock/"


def where(user) -> int | None:
    return Presence.objects.get(user=user).current_space_id


def online(*users, status: str = "online") -> None:
    for user in users:
        Presence.objects.update_or_create(user=user, defaults={"status": status, "connected": True})


@pytest.fixture
def vault(company, bob):
    """A private space Bob may enter and is in; Alice may not."""
    space = SpaceFactory(company=company, name="Vault", is_private=True, capacity=4)
    assign_perm("spaces.enter_space", bob, space)
    online(bob)
    services.space_enter(actor=bob, space=space)
    return space


def test_knock_on_a_private_space_with_someone_inside(api, alice, bob, vault, capture_events):
    with capture_events():
        response = api(alice).post(knock_url(vault), {"note": "  Quick question  "}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    knock = Knock.objects.get()
    assert body["id"] == knock.id and body["space"] == vault.id and body["user"] == alice.id
    assert body["note"] == "Quick question" and body["status"] == "pending"
    assert body["expires_at"] and (knock.expires_at - knock.created_at).total_seconds() == pytest.approx(60, abs=1)
    events = [(g, m["event"]) for g, m in capture_events.sent if "event" in m]
    knocks = [(g, e) for g, e in events if e["type"] == "space.knock"]
    assert knocks == [
        (
            f"user.{bob.id}",
            {
                "type": "space.knock",
                "data": {
                    "knock": knock.id,
                    "space": vault.id,
                    "space_name": "Vault",
                    "user": alice.id,
                    "note": "Quick question",
                    "created_at": body["created_at"],
                    "expires_at": body["expires_at"],
                },
            },
        )
    ]
    # The people inside also get a `knock` notification (notifications app), nobody else anything.
    assert {g for g, e in events} == {f"user.{bob.id}"}
    assert sorted(e["type"] for g, e in events) == ["notification.created", "space.knock"]


def test_knock_without_a_note(api, alice, bob, vault):
    response = api(alice).post(knock_url(vault), {}, format="json")
    assert response.status_code == 201 and response.json()["note"] == ""


def test_knock_on_a_full_space_and_on_a_meeting(api, alice, bob, carol, company):
    pod = SpaceFactory(company=company, name="Pod", capacity=1)
    services.space_enter(actor=bob, space=pod)
    assert api(alice).post(knock_url(pod), {}, format="json").status_code == 201
    room = SpaceFactory(company=company, name="Board room", capacity=8)
    services.space_enter(actor=carol, space=room)
    services.meeting_start(actor=carol, space=room, title="Planning")
    assert api(alice).post(knock_url(room), {"note": "May I join?"}, format="json").status_code == 201


def test_empty_space_and_one_i_could_enter(api, alice, bob, company, vault):
    empty_private = SpaceFactory(company=company, name="Archive", is_private=True)
    response = api(alice).post(knock_url(empty_private), {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "space_empty")
    open_space = SpaceFactory(company=company, name="Lobby")
    services.space_enter(actor=UserFactory(company=company), space=open_space)
    response = api(alice).post(knock_url(open_space), {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "knock_not_needed")
    empty_open = SpaceFactory(company=company, name="Atrium")
    assert api(alice).post(knock_url(empty_open), {}, format="json").json()["code"] == "knock_not_needed"
    # Someone granted the private space need not knock; nor someone already inside.
    response = api(bob).post(knock_url(vault), {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "knock_not_needed")
    assert not Knock.objects.exists()


def test_one_pending_knock_per_person_and_space(api, alice, bob, vault):
    assert api(alice).post(knock_url(vault), {}, format="json").status_code == 201
    again = api(alice).post(knock_url(vault), {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_knocking")
    Knock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api(alice).post(knock_url(vault), {}, format="json").status_code == 201


@pytest.mark.parametrize("body, code", [({"note": 5}, "note"), ({"note": "x" * 201}, "note"), ({"note": None}, "note")])
def test_bad_notes_are_400(api, alice, vault, body, code):
    response = api(alice).post(knock_url(vault), body, format="json")
    assert response.status_code == 400 and code in response.json()


def test_admit_moves_the_knocker_in_whatever_refused_them(api, alice, bob, carol, company, capture_events):
    pod = SpaceFactory(company=company, name="Pod", capacity=1, is_private=True)
    assign_perm("spaces.enter_space", bob, pod)
    services.space_enter(actor=bob, space=pod)  # private to Alice, and full
    knock = services.knock_create(actor=alice, space=pod, note="")
    with capture_events():
        response = api(bob).post(f"/api/v1/knocks/{knock.id}/admit/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "admitted" and response.json()["answered_by"] == bob.id
    assert where(alice) == pod.id
    admitted = [g for g, m in capture_events.sent if "event" in m and m["event"]["type"] == "knock.admitted"]
    assert sorted(admitted) == sorted([f"user.{alice.id}", f"user.{bob.id}"])
    # Once answered it stays answered.
    again = api(bob).post(f"/api/v1/knocks/{knock.id}/deny/")
    assert (again.status_code, again.json()["code"]) == (409, "already_admitted")


def test_deny_leaves_the_knocker_outside(api, alice, bob, vault, capture_events):
    knock = services.knock_create(actor=alice, space=vault, note="hi")
    with capture_events():
        response = api(bob).post(f"/api/v1/knocks/{knock.id}/deny/")
    assert response.status_code == 200 and response.json()["status"] == "denied"
    assert where(alice) is None
    assert f"user.{alice.id}" in [g for g, m in capture_events.sent if m["event"]["type"] == "knock.denied"]
    again = api(bob).post(f"/api/v1/knocks/{knock.id}/admit/")
    assert again.json()["code"] == "already_denied" and where(alice) is None


def test_only_someone_inside_answers(api, alice, bob, carol, vault):
    knock = services.knock_create(actor=alice, space=vault, note="")
    for person in (carol, alice):
        response = api(person).post(f"/api/v1/knocks/{knock.id}/admit/")
        assert (response.status_code, response.json()["code"]) == (403, "not_occupant")
    assert Knock.objects.get().status == "pending" and where(alice) is None


def test_expired_knock_cannot_be_answered_and_is_announced_once(api, alice, bob, vault, capture_events):
    knock = services.knock_create(actor=alice, space=vault, note="")
    Knock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with capture_events():
        assert services.knocks_expire() == [knock.id]
        assert services.knocks_expire() == []
    expired = [g for g, m in capture_events.sent if m["event"]["type"] == "knock.expired"]
    assert sorted(expired) == sorted([f"user.{alice.id}", f"user.{bob.id}"])
    response = api(bob).post(f"/api/v1/knocks/{knock.id}/admit/")
    assert (response.status_code, response.json()["code"]) == (409, "knock_expired")
    assert where(alice) is None


def test_answering_an_overdue_knock_before_the_sweep_expires_it(api, alice, bob, vault):
    knock = services.knock_create(actor=alice, space=vault, note="")
    Knock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(bob).post(f"/api/v1/knocks/{knock.id}/admit/")
    assert response.json()["code"] == "knock_expired"
    assert Knock.objects.get().status == "expired"


def test_knock_seconds_is_a_setting(settings, alice, bob, vault):
    settings.KNOCK_SECONDS = 5
    knock = services.knock_create(actor=alice, space=vault, note="")
    assert (knock.expires_at - knock.created_at).total_seconds() == pytest.approx(5, abs=1)


def test_occupants_under_dnd_get_the_notification_only(api, alice, bob, carol, vault, capture_events):
    assign_perm("spaces.enter_space", carol, vault)
    services.space_enter(actor=carol, space=vault)
    online(bob)
    online(carol, status="dnd")
    with capture_events():
        api(alice).post(knock_url(vault), {"note": "hello"}, format="json")
    sent = [(g, m["event"]["type"]) for g, m in capture_events.sent if "event" in m]
    assert (f"user.{bob.id}", "space.knock") in sent and (f"user.{bob.id}", "notification.created") in sent
    assert (f"user.{carol.id}", "notification.created") in sent
    assert (f"user.{carol.id}", "space.knock") not in sent


def test_rolled_back_knock_sends_nothing(alice, bob, vault, capture_events):
    from django.db import transaction

    with capture_events():
        try:
            with transaction.atomic():
                services.knock_create(actor=alice, space=vault, note="")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert capture_events.sent == []


# -- two companies -------------------------------------------------------------------------------


def test_another_companys_space_and_knocks_are_404(api, alice, bob, vault, mallory, other_company):
    response = api(mallory).post(knock_url(vault), {}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    knock = services.knock_create(actor=alice, space=vault, note="secret")
    # Mallory, even inside a space of her own company, reaches nothing of Acme's.
    theirs = SpaceFactory(company=other_company, name="Their room")
    services.space_enter(actor=mallory, space=theirs)
    for action in ("admit", "deny"):
        response = api(mallory).post(f"/api/v1/knocks/{knock.id}/{action}/")
        assert (response.status_code, response.json()["code"]) == (404, "knock_not_found")
    assert Knock.objects.get().status == "pending"
    # Nor can Acme knock on theirs.
    response = api(alice).post(knock_url(theirs), {}, format="json")
    assert response.status_code == 404


def test_no_such_knock_is_404(api, bob):
    assert api(bob).post("/api/v1/knocks/999999/admit/").status_code == 404
    assert api(None).post("/api/v1/knocks/1/admit/").status_code == 401


def test_a_knocker_let_in_reads_the_room_while_inside_only(api, alice, bob, vault, mallory):
    room = f"/api/v1/spaces/{vault.id}/conversation/"
    assert api(alice).get(room).status_code == 404  # outside a private space: its chat is not hers
    online(alice)
    knock = services.knock_create(actor=alice, space=vault, note="")
    assert api(bob).post(f"/api/v1/knocks/{knock.id}/admit/").status_code == 200
    answer = api(alice).get(room)
    assert answer.status_code == 200 and answer.json()["space"] == vault.id
    conversation = answer.json()["id"]
    assert api(alice).get(f"/api/v1/conversations/{conversation}/messages/").status_code == 200
    assert api(mallory).get(room).status_code == 404  # another company: never
    services.space_leave(actor=alice)
    assert api(alice).get(room).status_code == 404
    assert api(alice).get(f"/api/v1/conversations/{conversation}/messages/").status_code == 404
