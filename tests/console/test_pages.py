"""The console's pages and form actions: company admins only (a member gets 403, a stranger the
login page), and another company's admin gets 404 for every Acme object."""

import pytest

from console.models import AuditEvent, Invitation
from console.services import invitation_create
from spaces.models import Space
from tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

PAGES = ["/manage/", "/manage/people/", "/manage/spaces/", "/manage/settings/", "/manage/audit/"]


@pytest.fixture
def invitation(admin_user):
    return invitation_create(actor=admin_user, email="new@example.com", base_url="http://testserver/").invitation


def object_actions(alice, space, invitation) -> list[str]:
    return [
        f"/manage/people/{alice.id}/deactivate/",
        f"/manage/people/{alice.id}/activate/",
        f"/manage/people/{alice.id}/make_admin/",
        f"/manage/people/{alice.id}/unmake_admin/",
        f"/manage/invitations/{invitation.id}/revoke/",
        f"/manage/spaces/{space.id}/",
        f"/manage/spaces/{space.id}/status/",
        f"/manage/spaces/{space.id}/delete/",
    ]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_sign_in_and_a_company_admin(browser_for, alice, admin_user, path):
    anonymous = browser_for(None).get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    member = browser_for(alice).get(path)
    assert member.status_code == 403
    assert b"Only company admins" in member.content
    admin = browser_for(admin_user).get(path, follow=True)
    assert admin.status_code == 200
    # The office's strict policy: no inline script or style anywhere in the console.
    assert "script-src 'self'" in admin["Content-Security-Policy"]
    assert b"onclick" not in admin.content and b"style=" not in admin.content


def test_members_get_403_for_every_action(browser_for, alice, bob, space, invitation):
    client = browser_for(bob)
    for path in object_actions(alice, space, invitation) + ["/manage/people/invite/", "/manage/spaces/new/"]:
        assert client.post(path, {"status": "closed", "email": "x@example.com"}).status_code == 403, path
    alice.refresh_from_db()
    assert alice.is_active and not alice.is_company_admin
    assert Space.objects.filter(pk=space.pk, status="available").exists()
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None


def test_another_companys_admin_gets_404_for_every_object(browser_for, alice, space, invitation, other_admin):
    client = browser_for(other_admin)
    for path in object_actions(alice, space, invitation):
        assert client.post(path, {f"s{space.id}-name": "Taken", "status": "closed"}).status_code == 404, path
    alice.refresh_from_db()
    space.refresh_from_db()
    assert alice.is_active and not alice.is_company_admin
    assert space.status == "available" and space.name == "Lounge"
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None
    # Their own console lists none of Acme's people, spaces or invitations.
    people = client.get("/manage/people/").content.decode()
    assert "alice" not in people and "new@example.com" not in people
    assert f'data-space="{space.id}"' not in client.get("/manage/spaces/").content.decode()


def test_people_list_searches_and_acts(browser_for, admin_user, alice, bob):
    client = browser_for(admin_user)
    page = client.get("/manage/people/", {"q": "archer"}).content.decode()
    assert "Alice Archer" in page and "Bob Baker" not in page
    response = client.post(f"/manage/people/{alice.id}/make_admin/", {"next": "/manage/people/?q=archer"})
    assert response.status_code == 302 and response["Location"] == "/manage/people/?q=archer"
    alice.refresh_from_db()
    assert alice.is_company_admin
    client.post(f"/manage/people/{bob.id}/deactivate/")
    bob.refresh_from_db()
    assert not bob.is_active
    assert "deactivated" in client.get("/manage/people/", {"status": "inactive"}).content.decode()
    client.post(f"/manage/people/{bob.id}/activate/")
    bob.refresh_from_db()
    assert bob.is_active
    # An unknown action or a person of nobody's company: 404, not a 500.
    assert client.post(f"/manage/people/{bob.id}/explode/").status_code == 404
    assert client.post("/manage/people/999999/deactivate/").status_code == 404


def test_an_admin_cannot_lock_themselves_out(browser_for, admin_user):
    client = browser_for(admin_user)
    page = client.post(f"/manage/people/{admin_user.id}/deactivate/", follow=True).content.decode()
    assert "cannot deactivate yourself" in page
    client.post(f"/manage/people/{admin_user.id}/unmake_admin/")
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_company_admin


def test_invite_from_the_console_shows_the_link_once(
    browser_for, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    client = browser_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/manage/people/invite/", {"email": "zoe@example.com", "role": "member"}, follow=True)
    html = page.content.decode()
    assert "Invitation sent to zoe@example.com" in html
    assert "http://testserver/accounts/invite/" in html
    assert len(mailoutbox) == 1 and "http://testserver/accounts/invite/" in mailoutbox[0].body
    assert "/accounts/invite/" not in client.get("/manage/people/").content.decode()  # shown once
    bad = client.post("/manage/people/invite/", {"email": "not an email"}, follow=True).content.decode()
    assert "valid email" in bad


def test_spaces_create_rename_capacity_private_close_open_delete(browser_for, admin_user, space, capture_events):
    client = browser_for(admin_user)
    with capture_events():
        client.post("/manage/spaces/new/", {"new-name": "Studio", "new-kind": "office", "new-capacity": "4"})
    studio = Space.objects.get(company=admin_user.company, name="Studio")
    assert studio.capacity == 4 and studio.y >= space.y + space.h  # below the floor's lowest space
    prefix = f"s{space.id}"
    with capture_events():
        client.post(
            f"/manage/spaces/{space.id}/",
            {
                f"{prefix}-name": "Big lounge",
                f"{prefix}-kind": "lounge",
                f"{prefix}-capacity": "12",
                f"{prefix}-is_private": "on",
            },
        )
    space.refresh_from_db()
    assert (space.name, space.capacity, space.is_private) == ("Big lounge", 12, True)
    client.post(f"/manage/spaces/{space.id}/status/", {"status": "closed"})
    space.refresh_from_db()
    assert space.status == "closed"
    client.post(f"/manage/spaces/{space.id}/status/", {"status": "available"})
    space.refresh_from_db()
    assert space.status == "available"
    # A clash is a message on the page, never a 500.
    clash = client.post(
        f"/manage/spaces/{space.id}/",
        {f"{prefix}-name": "Studio", f"{prefix}-kind": "lounge", f"{prefix}-capacity": "12"},
        follow=True,
    )
    assert clash.status_code == 200 and "already exists" in clash.content.decode()
    client.post(f"/manage/spaces/{studio.id}/delete/")
    assert not Space.objects.filter(pk=studio.pk).exists()
    assert "space.updated" in capture_events.types()
    actions = set(AuditEvent.objects.filter(company=admin_user.company).values_list("action", flat=True))
    assert {"space.created", "space.updated", "space.deleted"} <= actions


def test_the_floor_editor_gets_every_space_of_my_company_only(browser_for, admin_user, space, other_company):
    SpaceFactory(company=other_company, name="Globex hall")
    page = browser_for(admin_user).get("/manage/spaces/").content.decode()
    assert 'id="console-floor-data"' in page and '"name": "Lounge"' in page and "Globex hall" not in page
    assert "js/console-floor.js" in page


def test_the_office_shows_manage_to_admins_only(browser_for, admin_user, alice):
    assert b'id="manage-link"' in browser_for(admin_user).get("/").content
    assert b'id="manage-link"' not in browser_for(alice).get("/").content
