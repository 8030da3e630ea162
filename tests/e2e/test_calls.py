"""Calls in two real browsers: ring, answer, a peer-to-peer WebRTC connection set up through
`call.signal`, hang up; plus teleport invitations through the toasts.

Chromium runs with fake media devices (no camera or microphone on the test machine) and with local
IPs not hidden behind mDNS names: with no network, loopback host candidates are all there is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from calling.models import Call
from presence.models import Presence
from tests.e2e.conftest import OfficePage, open_office_page, settle_disconnects
from tests.e2e.steps import enter, send_in
from tests.factories import SpaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_call_page(media_browser, live_server_url: str) -> Iterator[Callable[..., OfficePage]]:
    opened: list[OfficePage] = []

    def open_page(user) -> OfficePage:
        office = open_office_page(media_browser, live_server_url, user)
        office.page.set_default_timeout(10_000)
        office.page.wait_for_function("() => window.office.invitations != null")
        opened.append(office)
        return office

    yield open_page
    problems = {o.user.username: o.unexpected_errors() for o in opened if o.unexpected_errors()}
    for office in opened:
        # The call view styles itself through the CSSOM, which a strict style-src allows.
        violations = office.page.evaluate("() => window.__csp")
        if violations:
            problems.setdefault(office.user.username, []).extend(f"CSP: {v}" for v in violations)
        office.context.close()
    settle_disconnects([office.user for office in opened])
    assert not problems, f"console errors in the browser: {problems}"


def wait_online(*users) -> None:
    import time

    deadline = time.monotonic() + 10
    while Presence.objects.filter(user__in=users, connected=True).count() < len(users):
        assert time.monotonic() < deadline, "the server never saw the pages' sockets"
        time.sleep(0.05)


def open_menu(office: OfficePage, person) -> object:
    office.page.locator(f'.avatar[data-user="{person.id}"]').first.click()
    menu = office.page.locator("#avatar-menu")
    expect(menu.locator("[role=menu]")).to_be_visible()
    return menu


PC_STATE = "window.office.invitations.session?.pc?.connectionState"


def test_video_call_connects_peer_to_peer_and_hangs_up(open_call_page, alice, bob):
    a = open_call_page(alice)
    b = open_call_page(bob)
    wait_online(alice, bob)

    open_menu(a, bob).locator('[data-action="video"]').click()
    outgoing = a.page.locator(".toast.call-outgoing")
    expect(outgoing).to_contain_text("Calling Bob Baker")
    incoming = b.page.locator(".toast.call-incoming")
    expect(incoming).to_contain_text("Alice Archer is calling you (video)")
    expect(incoming.locator(".toast-countdown")).to_have_text("30s")

    incoming.get_by_role("button", name="Accept").click()
    expect(outgoing).to_have_count(0)
    for office in (a, b):
        office.page.wait_for_function(f"() => ({PC_STATE}) === 'connected'", timeout=15_000)
        view = office.page.locator(".call-view")
        expect(view).to_have_attribute("data-state", "connected")
        # Real media flowed: the remote <video> has frames from the other browser's fake camera.
        office.page.wait_for_function(
            "() => { const v = document.querySelector('.call-view .call-remote'); return v && v.videoWidth > 0; }"
        )
    call = Call.objects.get(caller=alice, callee=bob)
    assert call.state == "accepted"
    # The call view is a dialog that took the focus (on its Hang up), and gives it back at the end.
    expect(b.page.locator(".call-view .call-hangup")).to_be_focused()

    b.page.keyboard.press("Enter")
    for office in (a, b):
        expect(office.page.locator(".toast", has_text="Call ended by")).to_be_visible()
    expect(b.page.locator(".call-view")).to_have_count(0)
    expect(b.page.get_by_role("main")).to_be_focused()
    for office in (a, b):
        office.page.wait_for_function(
            f"() => window.office.invitations.session === null && window.office.invitations.lastEnded.id === {call.id}"
        )
    expect(a.page.locator(".toast", has_text="Call ended by Bob Baker")).to_be_visible()
    call.refresh_from_db()
    assert call.state == "ended" and call.ended_by_id == bob.id


def test_declined_and_refused_calls_say_why(open_call_page, alice, bob, carol):
    a = open_call_page(alice)
    b = open_call_page(bob)
    wait_online(alice, bob)
    open_menu(a, bob).locator('[data-action="voice"]').click()
    b.page.locator(".toast.call-incoming").get_by_role("button", name="Decline").click()
    expect(a.page.locator(".toast", has_text="Bob Baker declined the call.")).to_be_visible()
    expect(a.page.locator(".toast.call-outgoing")).to_have_count(0)
    assert Call.objects.get(caller=alice).state == "declined"

    # Carol has no open page: she is offline, and the server's sentence reaches the caller.
    a.allow("status of 409")
    refused = a.page.evaluate(f"() => window.office.invitations.call({carol.id}, 'voice').catch(e => e.message)")
    assert refused == "Carol Clark is offline right now; send a message instead."


def test_teleport_invitation_moves_the_invitee(open_call_page, alice, bob, company):
    lounge = SpaceFactory(company=company, name="Lounge", capacity=6, x=20, y=20, w=320, h=180)
    a = open_call_page(alice)
    b = open_call_page(bob)
    wait_online(alice, bob)
    a.page.locator(f'.space[data-space="{lounge.id}"] [data-role=enter]').click()
    expect(a.page.locator(f'.space[data-space="{lounge.id}"] .avatar[data-user="{alice.id}"]')).to_be_visible()

    open_menu(a, bob).locator('[data-action="invite"]').click()
    invite = b.page.locator(".toast.teleport-incoming")
    expect(invite).to_contain_text("Alice Archer invites you to Lounge.")
    invite.get_by_role("button", name="Go there").click()
    for office in (a, b):
        expect(office.page.locator(f'.space[data-space="{lounge.id}"] .avatar[data-user="{bob.id}"]')).to_be_visible()
    expect(a.page.locator(".toast", has_text="Bob Baker is on the way to Lounge.")).to_be_visible()
    assert Presence.objects.get(user=bob).current_space_id == lounge.id


def test_a_reload_mid_call_offers_to_hang_up(open_call_page, alice, bob):
    a = open_call_page(alice)
    b = open_call_page(bob)
    wait_online(alice, bob)
    open_menu(a, bob).locator('[data-action="voice"]').click()
    b.page.locator(".toast.call-incoming").get_by_role("button", name="Accept").click()
    for office in (a, b):
        office.page.wait_for_function(f"() => ({PC_STATE}) === 'connected'", timeout=15_000)
    expect(a.page.locator(".call-view .call-face")).to_have_text("BB")  # a voice call shows initials

    a.page.reload()
    a.wait_connected()
    still = a.page.locator(".toast", has_text="You are in a call with Bob Baker in another window.")
    expect(still).to_be_visible()
    still.get_by_role("button", name="Hang up").click()
    expect(b.page.locator(".toast", has_text="Call ended by Alice Archer")).to_be_visible()
    expect(b.page.locator(".call-view")).to_have_count(0)
    assert Call.objects.get(caller=alice).state == "ended"


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_call_window_leaves_the_composer_free(open_call_page, alice, bob, company):
    """On a laptop the call sits over the floor, on a phone under the top bar: both people can chat."""
    lounge = SpaceFactory(company=company, name="Lounge", capacity=6, x=20, y=20, w=320, h=180)
    a = open_call_page(alice)
    b = open_call_page(bob)
    a.page.set_viewport_size({"width": 1440, "height": 900})
    b.page.set_viewport_size({"width": 390, "height": 844})
    wait_online(alice, bob)
    enter(a, lounge)
    # Bob, on his phone, has a conversation with Alice open.
    b.page.locator(f'.space .avatar[data-user="{alice.id}"]').click()
    b.page.locator('#avatar-menu [data-action="message"]').click()
    expect(b.page.locator("#conversation-slot .panel")).to_be_visible()

    open_menu(a, bob).locator('[data-action="video"]').click()
    b.page.locator(".toast.call-incoming").get_by_role("button", name="Accept").click()
    for office in (a, b):
        view = office.page.locator(".call-view")
        expect(view).to_be_visible()
        expect(view).to_be_in_viewport(ratio=1)
        composer = office.page.locator(".panels .panel:visible [data-role=composer]")
        expect(composer).to_be_in_viewport(ratio=1)
        assert not boxes_overlap(view.bounding_box(), composer.bounding_box()), office.user.username
        assert office.page.evaluate(
            "() => document.scrollingElement.scrollHeight <= innerHeight"
            " && document.scrollingElement.scrollWidth <= innerWidth"
        )
    # Chatting during the call works.
    send_in(b.page.locator("#conversation-slot .panel"), "can you hear me?")
    expect(b.page.locator("#conversation-slot .message-body", has_text="can you hear me?")).to_be_visible()
    b.page.locator(".call-view .call-hangup").click()
    expect(a.page.locator(".call-view")).to_have_count(0)


NO_MICROPHONE = """() => {
  const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (wanted) => wanted && wanted.audio
    ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
    : ask(wanted);
}"""


def test_the_call_window_moves_minimises_and_says_what_does_not_work(open_call_page, alice, bob, company):
    """Bob has no microphone: his window says so and offers no Mute, and the call still connects
    (he hears and sees Alice, she sees him). Alice drags her window onto her composer: it settles
    above it instead; she minimises it, chats, and docks it again."""
    lounge = SpaceFactory(company=company, name="Lounge", capacity=6, x=20, y=20, w=320, h=180)
    a = open_call_page(alice)
    b = open_call_page(bob)
    a.page.set_viewport_size({"width": 1440, "height": 900})
    wait_online(alice, bob)
    enter(a, lounge)
    b.page.evaluate(NO_MICROPHONE)

    open_menu(a, bob).locator('[data-action="video"]').click()
    b.page.locator(".toast.call-incoming").get_by_role("button", name="Accept").click()
    for office in (a, b):
        office.page.wait_for_function(f"() => ({PC_STATE}) === 'connected'", timeout=15_000)
    bob_view = b.page.locator(".call-view")
    expect(bob_view.locator(".call-devices")).to_have_text("No microphone found: they cannot hear you.")
    expect(bob_view.locator(".call-mute")).to_be_disabled()
    expect(bob_view.locator(".call-mute")).to_have_text("No microphone")
    expect(bob_view.locator(".call-status")).to_contain_text("Connected")
    # Alice still sees Bob's camera; her own window has nothing to warn about.
    a.page.wait_for_function(
        "() => { const v = document.querySelector('.call-view .call-remote'); return v && v.videoWidth > 0; }"
    )
    expect(a.page.locator(".call-view .call-devices")).to_be_hidden()

    view = a.page.locator(".call-view")
    composer = a.page.locator(".panels .panel:visible [data-role=composer]")
    docked = view.bounding_box()
    target = composer.bounding_box()
    header = view.locator(".call-header").bounding_box()
    a.page.mouse.move(header["x"] + 20, header["y"] + header["height"] / 2)
    a.page.mouse.down()
    a.page.mouse.move(target["x"] + 40, target["y"] + 10, steps=8)
    a.page.mouse.up()
    expect(view).to_have_attribute("data-moved", "true")
    moved = view.bounding_box()
    assert moved != docked
    assert not boxes_overlap(moved, composer.bounding_box()), (moved, composer.bounding_box())
    expect(view).to_be_in_viewport(ratio=1)

    # From the keyboard too: the header moves the window with the arrow keys.
    view.locator(".call-header").focus()
    a.page.keyboard.press("ArrowLeft")
    a.page.wait_for_function(f"() => document.querySelector('.call-view').getBoundingClientRect().left < {moved['x']}")

    view.get_by_role("button", name="Minimise").click()
    expect(view.locator(".call-stage")).to_be_hidden()
    expect(view.get_by_role("button", name="Expand")).to_have_attribute("aria-pressed", "true")
    send_in(a.page.locator(".panels .panel:visible").first, "still here during the call")
    expect(b.page.locator(".call-view")).to_be_visible()

    view.get_by_role("button", name="Dock").click()
    expect(view).to_have_attribute("data-moved", "false")
    view.get_by_role("button", name="Expand").click()
    expect(view.locator(".call-stage")).to_be_visible()
    assert not boxes_overlap(view.bounding_box(), composer.bounding_box())
    b.page.locator(".call-view .call-hangup").click()
    expect(a.page.locator(".call-view")).to_have_count(0)
