"""The office page's server side: the first render and the avatar menu partial."""

import json
import re

import pytest
from django.test import Client

from calling import services as calling_services
from office.page import avatar_menu_options
from presence import services as presence_services
from spaces import services as space_services
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def connect(user, status: str = "online") -> None:
    presence_services.connection_open(user=user, channel_name=f"test.{user.id}", server_id="tests")
    presence_services.presence_set_status(actor=user, status=status)


def options(viewer, person) -> dict[str, str]:
    viewer.refresh_from_db()
    person.refresh_from_db()
    return {option.action: option.reason for option in avatar_menu_options(viewer, person)}


def test_office_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_person_of_no_company_gets_a_page_pointing_to_the_admin(db):
    root = UserFactory(company=None, username="root", is_staff=True, is_superuser=True)
    response = browser_for(root).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No office for this account" in html and 'href="/admin/"' in html
    assert "office.js" not in html  # no socket to be refused
    nobody = UserFactory(company=None, username="drifter")
    html = browser_for(nobody).get("/").content.decode()
    assert "No office for this account" in html and 'href="/admin/"' not in html


def test_office_renders_my_company_only(alice, bob, mallory, space, other_company, settings):
    SpaceFactory(company=other_company, name="Globex vault")
    space_services.space_enter(actor=bob, space=space)
    response = browser_for(alice).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lounge" in html and "Globex vault" not in html and "Mallory" not in html
    assert response["Cache-Control"] == "no-store"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "connect-src 'self' ws://testserver" in policy and "unsafe" not in policy
    assert "csrftoken" in response.cookies
    # Bob is drawn in the lounge; Alice, in no space, in the side list.
    assert re.search(rf'data-space="{space.id}"[\s\S]*data-user="{bob.id}"', html)
    assert f'data-person="{alice.id}"' in html and f'data-person="{bob.id}"' not in html
    data = json.loads(re.search(r'<script id="office-data" type="application/json">(.*?)</script>', html).group(1))
    assert data["me"]["id"] == alice.id
    assert {p["id"] for p in data["people"]} == {alice.id, bob.id}
    assert [s["id"] for s in data["spaces"]] == [space.id] and data["spaces"][0]["occupants"] == [bob.id]
    assert data["enterable"] == [space.id]
    # The composer refuses, before uploading, what the server would refuse: the same settings.
    rules = data["attachments"]
    assert rules["max_bytes"] == settings.ATTACHMENT_MAX_BYTES and rules["max_count"] == settings.ATTACHMENT_MAX_COUNT
    assert [t["type"] for t in rules["types"]] == settings.ATTACHMENT_ALLOWED_TYPES
    assert {"type": "image/png", "extensions": [".png"], "label": "PNG"} in rules["types"]
    # No inline scripts or handlers: only script files (the theme, the page's module) and the JSON data.
    assert not re.search(r"<script(?![^>]*( src=\"/static/|type=\"application/json\"))", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_office_escapes_names(alice, bob):
    bob.display_name = "<img src=x onerror=alert(1)>"
    bob.save()
    html = browser_for(alice).get("/").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_menu_of_someone_online_and_elsewhere(alice, bob, space):
    connect(bob)
    space_services.space_enter(actor=alice, space=space)
    assert options(alice, bob) == {"message": "", "voice": "", "video": "", "invite": ""}


@pytest.mark.parametrize(
    ("status", "reason"),
    [("dnd", "Bob is on do not disturb"), (None, "Bob is offline")],
)
def test_menu_refuses_calls_and_invites_with_a_reason(alice, bob, space, status, reason):
    if status is not None:
        connect(bob, status)
    space_services.space_enter(actor=alice, space=space)
    assert options(alice, bob) == {"message": "", "voice": reason, "video": reason, "invite": reason}


def test_a_busy_person_can_still_be_called_and_invited(alice, bob, space):
    connect(bob, "busy")  # the call rings quietly (the contract's interruption policy)
    space_services.space_enter(actor=alice, space=space)
    assert options(alice, bob) == {"message": "", "voice": "", "video": "", "invite": ""}


def test_menu_when_either_is_in_a_call(alice, bob, carol, space):
    connect(alice)
    connect(bob)
    connect(carol)
    call = calling_services.call_create(actor=bob, callee_id=carol.id, kind="voice")
    assert options(alice, bob)["voice"] == options(alice, bob)["video"] == "Bob is in a call"
    assert options(carol, alice)["voice"] == "You are already in a call"
    calling_services.call_accept(actor=carol, call=call)
    assert options(alice, carol)["voice"] == "Carol is in a call"
    calling_services.call_end(actor=carol, call=call)
    assert options(alice, bob)["voice"] == ""


def test_menu_when_already_together_or_nowhere(alice, bob, space):
    connect(bob)
    assert options(alice, bob)["invite"] == "You are not in a space"
    space_services.space_enter(actor=alice, space=space)
    space_services.space_enter(actor=bob, space=space)
    together = options(alice, bob)
    # Calling someone in the same space works (the contract); inviting them there does not.
    assert together["voice"] == together["message"] == ""
    assert together["invite"] == "Bob is already with you"


def test_menu_of_an_invitation_already_waiting(alice, bob, space):
    connect(bob)
    space_services.space_enter(actor=alice, space=space)
    calling_services.teleport_create(actor=alice, invitee_id=bob.id)
    assert options(alice, bob)["invite"] == "You invited Bob already; waiting for an answer"


def test_menu_partial_offers_only_what_works_and_says_why_not(alice, bob):
    connect(bob, "dnd")
    response = browser_for(alice).get(f"/office/people/{bob.id}/menu/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="menu"' in html and html.count('role="menuitem"') == 1
    assert re.search(r'<button[^>]*role="menuitem"[^>]*data-action="message"', html)
    assert 'data-action="voice"' not in html and "aria-disabled" not in html
    refusals = re.findall(r'<li class="menu-refusal" data-refused="(\w+)">.*?</li>', html, re.S)
    assert refusals == ["voice"]  # calls and the invitation share one reason: one line
    line = re.search(r'<li class="menu-refusal".*?</li>', html, re.S).group(0)
    assert ">Call, Invite to my space<" in line and ">Bob is on do not disturb<" in line


def test_menu_of_myself_and_of_strangers(alice, mallory, client):
    mine = browser_for(alice).get(f"/office/people/{alice.id}/menu/")
    assert mine.status_code == 200 and "This is you" in mine.content.decode()
    assert 'role="menuitem"' not in mine.content.decode()
    assert browser_for(alice).get(f"/office/people/{mallory.id}/menu/").status_code == 404
    assert client.get(f"/office/people/{alice.id}/menu/").status_code == 302


def test_office_page_gives_the_calls_the_configured_ice_servers(alice, settings):
    def ice_servers() -> list:
        html = browser_for(alice).get("/").content.decode()
        data = json.loads(re.search(r'<script id="office-data" type="application/json">(.*?)</script>', html).group(1))
        return data["ice_servers"]

    assert ice_servers() == []  # default: calls within one network
    settings.WEBRTC_ICE_SERVERS = [
        {"urls": "stun:stun.example.com:3478"},
        {"urls": ["turn:turn.example.com"], "username": "office", "credential": "s3cret"},
    ]
    assert ice_servers() == settings.WEBRTC_ICE_SERVERS
