"""The console's REST endpoints: company admins only (members 403), another company's objects 404."""

import csv
import io

import pytest
from rest_framework.authtoken.models import Token

from console.models import AuditEvent, Invitation
from console.services import audit_record, invitation_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(admin_user):
    return invitation_create(actor=admin_user, email="new@example.com", base_url="http://testserver/").invitation


def object_calls(alice, invitation) -> list[tuple[str, str, dict]]:
    return [
        ("delete", f"/api/v1/invitations/{invitation.id}/", {}),
        ("patch", f"/api/v1/users/{alice.id}/", {"is_company_admin": True}),
        ("post", f"/api/v1/users/{alice.id}/deactivate/", {}),
        ("post", f"/api/v1/users/{alice.id}/activate/", {}),
    ]


LIST_CALLS = [
    ("get", "/api/v1/invitations/", {}),
    ("post", "/api/v1/invitations/", {"email": "x@example.com"}),
    ("get", "/api/v1/audit/", {}),
    ("get", "/api/v1/audit/export.csv", {}),
]


def call(client, method: str, path: str, body: dict):
    return getattr(client, method)(path, body, format="json") if method != "get" else client.get(path)


def test_members_get_403_and_strangers_401(api, alice, bob, invitation):
    for method, path, body in object_calls(alice, invitation) + LIST_CALLS:
        answer = call(api(bob), method, path, body)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["code"] == "permission_denied"
        assert call(api(None), method, path, body).status_code == 401, (method, path)
    alice.refresh_from_db()
    assert alice.is_active and not alice.is_company_admin


def test_another_companys_admin_gets_404_and_sees_none_of_ours(api, alice, invitation, other_admin, admin_user):
    client = api(other_admin)
    for method, path, body in object_calls(alice, invitation):
        answer = call(client, method, path, body)
        assert answer.status_code == 404, (method, path)
        assert set(answer.json()) == {"detail", "code"}
    alice.refresh_from_db()
    assert alice.is_active and not alice.is_company_admin
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None
    assert client.get("/api/v1/invitations/").json() == []
    assert [row["action"] for row in client.get("/api/v1/audit/").json()] == []
    lines = client.get("/api/v1/audit/export.csv").getvalue().decode().splitlines()
    assert len(lines) == 1  # the header only


def test_invitation_create_list_delete(api, admin_user, django_capture_on_commit_callbacks, mailoutbox):
    client = api(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/invitations/", {"email": "zoe@example.com"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert {"id", "email", "url", "expires_at"} <= set(body)
    assert body["url"].startswith("http://testserver/accounts/invite/")
    assert body["email"] == "zoe@example.com" and body["role"] == "member" and body["status"] == "pending"
    assert mailoutbox[0].to == ["zoe@example.com"] and body["url"] in mailoutbox[0].body
    # Only the hash is kept: the token is nowhere in the database.
    token = body["url"].rstrip("/").rsplit("/", 1)[-1]
    assert not Invitation.objects.filter(token_hash=token).exists()
    listed = client.get("/api/v1/invitations/").json()
    assert [row["id"] for row in listed] == [body["id"]] and "url" not in listed[0]
    assert client.delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
    assert client.get("/api/v1/invitations/").json()[0]["status"] == "revoked"
    # Bad input: field errors, never a 500.
    assert client.post("/api/v1/invitations/", {"email": "nope"}, format="json").status_code == 400
    assert client.post("/api/v1/invitations/", {"email": "a@b.co", "role": "owner"}, format="json").status_code == 400
    UserFactory(company=admin_user.company, email="here@example.com")
    taken = client.post("/api/v1/invitations/", {"email": "HERE@example.com"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "already_member"


def test_an_invitation_stands_when_no_mail_can_go_out(api, admin_user, django_capture_on_commit_callbacks, settings,
                                                     caplog):
    """A mail server that refuses (or none at all) loses nothing: the invitation is made, the admin gets its
    link to pass on, and the log says so in one line, without a traceback."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    client = api(admin_user)
    with caplog.at_level("WARNING", logger="console.services"):
        with django_capture_on_commit_callbacks(execute=True):
            created = client.post("/api/v1/invitations/", {"email": "zoe@example.com"}, format="json")
    assert created.status_code == 201 and "/accounts/invite/" in created.json()["url"]
    assert Invitation.objects.get(pk=created.json()["id"]).status == "pending"
    [record] = [r for r in caplog.records if r.name == "console.services"]
    assert "no mail went out" in record.getMessage() and record.exc_info is None


def test_patch_user_makes_and_unmakes_admin(api, admin_user, alice):
    client = api(admin_user)
    made = client.patch(f"/api/v1/users/{alice.id}/", {"is_company_admin": True}, format="json")
    assert made.status_code == 200 and made.json()["is_company_admin"] is True
    unmade = client.patch(f"/api/v1/users/{alice.id}/", {"is_company_admin": False}, format="json")
    assert unmade.json()["is_company_admin"] is False
    assert client.patch(f"/api/v1/users/{alice.id}/", {"is_company_admin": "maybe"}, format="json").status_code == 400
    me = client.patch(f"/api/v1/users/{admin_user.id}/", {"is_company_admin": False}, format="json")
    assert me.status_code == 409 and me.json()["code"] == "cannot_demote_self"


def test_deactivate_and_activate(api, admin_user, alice):
    Token.objects.create(user=alice)
    client = api(admin_user)
    answer = client.post(f"/api/v1/users/{alice.id}/deactivate/")
    assert answer.status_code == 200 and answer.json()["is_active"] is False
    assert not Token.objects.filter(user=alice).exists()
    assert client.post(f"/api/v1/users/{alice.id}/activate/").json()["is_active"] is True
    myself = client.post(f"/api/v1/users/{admin_user.id}/deactivate/")
    assert myself.status_code == 409 and myself.json()["code"] == "cannot_deactivate_self"


def test_audit_filters_and_keyset_pages(api, admin_user, alice, company):
    from datetime import timedelta

    from django.utils import timezone

    base = timezone.now() - timedelta(days=3)
    for n in range(5):
        event = audit_record(action="user.role_changed", company_id=company.id, actor=admin_user, target_id=n)
        AuditEvent.objects.filter(pk=event.pk).update(created_at=base + timedelta(days=n % 3, minutes=n))
    audit_record(action="login", company_id=company.id, actor=alice)
    client = api(admin_user)
    rows = client.get("/api/v1/audit/").json()
    assert [r["action"] for r in rows][0] == "login"  # newest first
    assert {"id", "at", "actor", "action", "target_type", "target_id", "detail", "ip"} <= set(rows[0])
    assert [r["actor"] for r in client.get(f"/api/v1/audit/?actor={alice.id}").json()] == [alice.id]
    assert len(client.get("/api/v1/audit/?action=user.role_changed").json()) == 5
    assert len(client.get("/api/v1/audit/?action=user.").json()) == 5
    since = (base + timedelta(days=1)).isoformat()
    until = (base + timedelta(days=2)).isoformat()
    window = client.get("/api/v1/audit/", {"since": since, "until": until, "action": "user.role_changed"}).json()
    assert sorted(r["target_id"] for r in window) == ["1", "4"]
    first = client.get("/api/v1/audit/?limit=2").json()
    second = client.get(f"/api/v1/audit/?limit=2&before={first[-1]['id']}").json()
    everything = client.get("/api/v1/audit/").json()
    assert [r["id"] for r in first + second] == [r["id"] for r in everything[:4]]
    for bad in ("limit=0", "limit=abc", "since=yesterday", "actor=x", "before=-1"):
        answer = client.get(f"/api/v1/audit/?{bad}")
        assert answer.status_code == 400 and "code" in answer.json(), bad


def test_audit_csv_has_a_header_and_escapes_formulas(api, admin_user, company):
    audit_record(
        action="login.failed",
        company_id=company.id,
        actor_name='=HYPERLINK("http://evil")',
        detail={"username": "+cmd"},
    )
    audit_record(action="login.failed", company_id=company.id, actor_name="@SUM(A1)")
    audit_record(action="login.failed", company_id=company.id, actor_name="-2+3")
    audit_record(action="login", company_id=company.id, actor=admin_user, ip="10.0.0.1")
    answer = api(admin_user).get("/api/v1/audit/export.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.getvalue().decode())))
    assert rows[0] == ["id", "at", "actor", "actor_name", "action", "target_type", "target_id", "detail", "ip"]
    names = [row[3] for row in rows[1:]]
    assert names == ["boss", "'-2+3", "'@SUM(A1)", '\'=HYPERLINK("http://evil")']
    assert rows[1][8] == "10.0.0.1"
    # Every cell of every row: none starts with a formula character.
    assert not [cell for row in rows[1:] for cell in row if cell[:1] in ("=", "+", "-", "@")]
    filtered = api(admin_user).get("/api/v1/audit/export.csv?action=login").getvalue().decode().splitlines()
    assert len(filtered) == 2


def test_audit_list_queries_do_not_grow_with_rows(api, admin_user, company, django_assert_max_num_queries):
    for n in range(30):
        audit_record(action="login", company_id=company.id, actor=admin_user, target_id=n)
    client = api(admin_user)
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/v1/audit/").json()) == 30
    with django_assert_max_num_queries(4):
        client.get("/api/v1/audit/export.csv").getvalue()


def test_invitation_list_queries_do_not_grow_with_rows(api, admin_user, django_assert_max_num_queries):
    for n in range(25):
        invitation_create(
            actor=admin_user,
            email=f"p{n}@example.com",
            role="admin" if n % 2 else "member",
            base_url="http://testserver/",
        )
    with django_assert_max_num_queries(3):
        rows = api(admin_user).get("/api/v1/invitations/").json()
    assert len(rows) == 25 and {r["role"] for r in rows} == {"admin", "member"}
    assert all(r["invited_by"] == admin_user.id for r in rows)
