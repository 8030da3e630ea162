"""Talking in a space in real browsers: three Chromium pages with fake microphones join one space's
talk with one click each, every page plays the two others' audio (the audio elements' time advances
and WebRTC counts bytes received from both), the bar shows who is in it and who is muted, and one
leaving reaches the others at once; a screen share shows "X is sharing" everywhere and stops with
the presenter.

Chromium runs with fake media devices, an automatically chosen "screen", and loopback candidates (no
network, no STUN)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, MEDIA_ARGS, OfficePage, open_office_page, settle_disconnects
from tests.e2e.steps import enter
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREEN_ARGS = ["--auto-select-desktop-capture-source=Entire screen", "--enable-usermedia-screen-capturing"]

# Per remote peer: bytes of audio received so far (inbound-rtp), read from RTCPeerConnection.getStats.
AUDIO_BYTES = """async () => {
  const out = {};
  for (const [id, peer] of window.office.talk.peers) {
    const stats = await peer.pc.getStats();
    let bytes = 0;
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived; });
    out[id] = bytes;
  }
  return out;
}"""
AUDIO_TIMES = (
    "() => Object.fromEntries([...document.querySelectorAll('#space-talk audio')]"
    ".map((a) => [a.dataset.user, a.currentTime]))"
)


@pytest.fixture(scope="module")
def screen_browser(browser):
    media = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + MEDIA_ARGS + SCREEN_ARGS)
    yield media
    media.close()


@pytest.fixture
def open_talk_page(screen_browser, live_server_url: str) -> Iterator[Callable[..., OfficePage]]:
    opened: list[OfficePage] = []

    def open_page(user) -> OfficePage:
        office = open_office_page(screen_browser, live_server_url, user, width=1280, height=900)
        office.page.set_default_timeout(15_000)
        opened.append(office)
        return office

    yield open_page
    problems = {o.user.username: o.unexpected_errors() for o in opened if o.unexpected_errors()}
    for office in opened:
        office.context.close()
    settle_disconnects([office.user for office in opened])
    assert not problems, f"console errors in the browser: {problems}"


def wait_playing(office: OfficePage, others: list) -> None:
    """Each of `others` is heard: WebRTC received audio bytes from them and their audio element plays."""
    ids = [str(o.id) for o in others]
    first = office.page.evaluate(AUDIO_BYTES)
    times = office.page.evaluate(AUDIO_TIMES)
    office.page.wait_for_function(
        f"""async ([ids, first, times]) => {{
          const now = await ({AUDIO_BYTES})();
          const played = ({AUDIO_TIMES})();
          return ids.every((id) => now[id] > (first[id] || 0) && now[id] > 1000 && played[id] > (times[id] || 0));
        }}""",
        arg=[ids, first, times],
        polling=200,
    )


def test_three_pages_talk_in_one_space(open_talk_page, company, lounge, alice, bob):
    cy = UserFactory(company=company, username="cyril", display_name="Cyril Cole")
    pages = [open_talk_page(user) for user in (alice, bob, cy)]
    for office in pages:
        enter(office, lounge)
    talk = [office.page.locator("#space-talk") for office in pages]
    expect(talk[0]).to_be_visible()
    expect(talk[0].locator("[data-talk=join]")).to_have_text("Join talk")

    for index, office in enumerate(pages):
        office.page.locator("[data-talk=join]").click()
        expect(talk[index].locator("[data-talk=join]")).to_have_text("Leave talk")
    for index, office in enumerate(pages):
        expect(talk[index].locator(".talk-tile")).to_have_count(3)
        office.page.wait_for_function("() => window.office.talk.peers.size === 2")
        expect(talk[index].locator("audio")).to_have_count(2)
    people = [alice, bob, cy]
    for index, office in enumerate(pages):
        wait_playing(office, [p for p in people if p is not people[index]])
        # Camera off by default, microphone on.
        assert office.page.evaluate("() => window.office.talk.state") == {
            "audio": True,
            "video": False,
            "screen": False,
        }

    # Mute shows on the others' tiles.
    pages[1].page.locator("[data-talk=mute]").click()
    for index in (0, 2):
        expect(talk[index].locator(f'.talk-tile[data-user="{bob.id}"]')).to_have_class("talk-tile is-muted")
        expect(talk[index].locator(f'.talk-tile[data-user="{bob.id}"] .talk-state')).to_have_text("muted")

    # Someone who leaves the talk is gone from the others' bars and connections at once.
    pages[2].page.locator("[data-talk=join]").click()
    expect(talk[2].locator("[data-talk=join]")).to_have_text("Join talk (2 in it)")
    for index in (0, 1):
        expect(talk[index].locator(".talk-tile")).to_have_count(2)
        pages[index].page.wait_for_function("() => window.office.talk.peers.size === 1")

    # Leaving the space leaves the talk too.
    pages[1].page.locator(
        f'.space[data-space="{lounge.id}"] [data-role=leave], #room-slot [data-role=leave]'
    ).first.click()
    expect(talk[0].locator(".talk-tile")).to_have_count(1)
    pages[0].page.wait_for_function("() => window.office.talk.peers.size === 0")
    expect(talk[1]).to_be_hidden()


def test_screen_share_in_a_talk_is_seen_and_stops_with_the_presenter(open_talk_page, lounge, alice, bob):
    a, b = open_talk_page(alice), open_talk_page(bob)
    for office in (a, b):
        enter(office, lounge)
        office.page.locator("[data-talk=join]").click()
    for office in (a, b):
        office.page.wait_for_function("() => window.office.talk.peers.size === 1")
    a.page.locator("[data-talk=screen]").click()
    expect(a.page.locator("#space-talk .space-talk-sharing")).to_have_text("You are sharing")
    expect(b.page.locator("#space-talk .space-talk-sharing")).to_have_text("Alice Archer is sharing")
    screen = b.page.locator(f'#space-talk .talk-tile[data-user="{alice.id}"] .talk-screen')
    expect(screen).to_be_visible()
    b.page.wait_for_function(
        "(el) => el.srcObject && el.videoWidth > 0 && el.currentTime > 0.3", arg=screen.element_handle()
    )
    a.page.locator("[data-talk=screen]").click()
    expect(b.page.locator("#space-talk .space-talk-sharing")).to_have_text("")
    expect(screen).to_be_hidden()
    # Sharing again and then leaving stops it too.
    a.page.locator("[data-talk=screen]").click()
    expect(b.page.locator("#space-talk .space-talk-sharing")).to_have_text("Alice Archer is sharing")
    a.page.locator("[data-talk=join]").click()
    expect(b.page.locator("#space-talk .space-talk-sharing")).to_have_text("")
    assert a.page.evaluate("() => window.office.talk.local.screen") is None
