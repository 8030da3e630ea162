"""Every administrative and security-relevant action leaves one audit row, whichever door it came
through (console page, REST API, browser sign-in, token login), with its actor, target and address."""

import pytest
from django.test import Client

from console.models import AuditEvent
from console.services import invitation_create
from tests.factories import PASSWORD, group_with, post

pytestmark = pytest.mark.django_db


def rows(action: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters))


def test_invites_role_changes_deactivation_and_activation(api, admin_user, alice):
    client = api(admin_user)
    created = client.post("/api/v1/invitations/", {"email": "new@example.com"}, format="json").json()
    client.delete(f"/api/v1/invitations/{created['id']}/")
    client.patch(f"/api/v1/users/{alice.id}/", {"is_company_admin": True}, format="json")
    client.post(f"/api/v1/users/{alice.id}/deactivate/")
    client.post(f"/api/v1/users/{alice.id}/activate/")
    for action, target_type, target_id in (
        ("invitation.created", "invitation", created["id"]),
        ("invitation.revoked", "invitation", created["id"]),
        ("user.role_changed", "user", alice.id),
        ("user.deactivated", "user", alice.id),
        ("user.activated", "user", alice.id),
    ):
        [row] = rows(action)
        assert (row.company_id, row.actor_id, row.actor_name) == (admin_user.company_id, admin_user.id, "boss")
        assert (row.target_type, row.target_id) == (target_type, str(target_id))
        assert row.ip == "127.0.0.1", action
    assert rows("invitation.created")[0].detail == {"email": "new@example.com", "role": "member"}
    assert rows("user.role_changed")[0].detail["is_company_admin"] is True


def test_space_changes_through_the_api(api, admin_user, space):
    client = api(admin_user)
    created = client.post("/api/v1/spaces/", {"name": "Studio"}, format="json").json()
    client.patch(f"/api/v1/spaces/{space.id}/", {"x": 120, "capacity": 5}, format="json")
    client.patch(f"/api/v1/spaces/{space.id}/", {"capacity": 5}, format="json")  # no change: no row
    client.delete(f"/api/v1/spaces/{created['id']}/")
    [made] = rows("space.created")
    assert (made.target_id, made.detail) == (str(created["id"]), {"name": "Studio"})
    [changed] = rows("space.updated")
    assert changed.detail == {"name": "Lounge", "changes": {"x": [0, 120], "capacity": [3, 5]}}
    [gone] = rows("space.deleted")
    assert gone.target_id == str(created["id"]) and gone.actor_id == admin_user.id


def test_a_meeting_changing_the_status_is_not_an_admin_change(api, alice, space):
    api(alice).post(f"/api/v1/spaces/{space.id}/enter/")
    api(alice).post(f"/api/v1/spaces/{space.id}/meeting/", {"title": "Standup"}, format="json")
    assert rows("space.updated") == []


def test_an_admin_deleting_someone_elses_message(api, admin_user, alice, bob):
    conversation = group_with(alice, bob)
    own = post(conversation, alice, "mine")
    theirs = post(conversation, bob, "rude words")
    assert api(alice).delete(f"/api/v1/messages/{own.id}/").status_code == 204
    assert rows("message.deleted_by_admin") == []  # deleting one's own message is no admin action
    assert api(admin_user).delete(f"/api/v1/messages/{theirs.id}/").status_code == 204
    [row] = rows("message.deleted_by_admin")
    assert (row.actor_id, row.target_type, row.target_id) == (admin_user.id, "message", str(theirs.id))
    assert row.detail == {"conversation": conversation.id, "sender": bob.id}


def test_browser_sign_ins_and_failures(alice, mallory):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"username": "nobody-here", "password": "wrong"})
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    [login] = rows("login")
    assert (login.actor_id, login.company_id, login.detail, login.ip) == (
        alice.id,
        alice.company_id,
        {"via": "session"},
        "127.0.0.1",
    )
    failed = rows("login.failed")
    assert len(failed) == 2
    mine = next(r for r in failed if r.actor_name == "alice")
    assert (mine.company_id, mine.target_id, mine.actor_id) == (alice.company_id, str(alice.id), None)
    stranger = next(r for r in failed if r.actor_name == "nobody-here")
    assert stranger.company_id is None  # nobody's company: in no console
    assert "password" not in str(mine.detail)


def test_token_logins_and_failures(api, alice):
    client = api(None)
    assert (
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json").status_code == 400
    )
    assert (
        client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").status_code
        == 200
    )
    [login] = rows("login")
    assert login.detail == {"via": "token"} and login.actor_id == alice.id
    [failed] = rows("login.failed")
    assert failed.detail == {"via": "token", "username": "alice"} and failed.company_id == alice.company_id


def test_the_console_page_lists_filters_and_pages_the_log(
    browser_for, admin_user, alice, django_assert_max_num_queries
):
    for n in range(60):
        invitation_create(actor=admin_user, email=f"p{n}@example.com", base_url="http://testserver/")
    Client().post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client = browser_for(admin_user)
    with django_assert_max_num_queries(12):
        page = client.get("/manage/audit/").content.decode()
    assert page.count("data-audit=") == 50 and "Page 1 of 2" in page
    assert "login.failed" in page and "invitation.created" in page
    second = client.get("/manage/audit/?page=2").content.decode()
    assert second.count("data-audit=") == 12  # 60 invitations, a failed sign-in and force_login's sign-in
    only_alice = client.get("/manage/audit/", {"action": "login.failed"}).content.decode()
    assert only_alice.count("data-audit=") == 1
    by_actor = client.get("/manage/audit/", {"actor": admin_user.id}).content.decode()
    assert by_actor.count("data-audit=") == 50
    assert 'href="/api/v1/audit/export.csv?actor=' in by_actor
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    assert client.get("/manage/audit/", {"since": today, "until": today}).content.decode().count("data-audit=") == 50
    assert client.get("/manage/audit/", {"until": "2000-01-01"}).content.decode().count("data-audit=") == 0
    assert client.get("/manage/audit/", {"since": "not a date"}).status_code == 200  # said on the form
