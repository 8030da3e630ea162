"""Talking in a space in real browsers: three Chromium pages with fake microphones join one space's
talk with one click each, every page plays the two others' audio (the audio elements' time advances
and WebRTC counts bytes received from both), the bar shows who is in it and who is muted, and one
leaving reaches the others at once; a screen share shows "X is sharing" everywhere and stops with
the presenter.

Chromium runs with fake media devices, an automatically chosen "screen", and loopback candidates (no
network, no STUN)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MEDIA_ARGS,
    OfficePage,
    SocketValve,
    open_office_page,
    settle_disconnects,
)
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

    def open_page(user, route=None) -> OfficePage:
        office = open_office_page(screen_browser, live_server_url, user, width=1280, height=900, route=route)
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


def test_a_lost_socket_leaves_the_talk_and_the_page_joins_again(open_talk_page, lounge, alice, bob):
    valve = SocketValve()
    a, b = open_talk_page(alice, route=valve), open_talk_page(bob)
    for office in (a, b):
        enter(office, lounge)
        office.page.locator("[data-talk=join]").click()
    for office in (a, b):
        office.page.wait_for_function("() => window.office.talk.peers.size === 1")
    wait_playing(b, [alice])
    a.allow("network down")
    valve.disconnect()
    # The server ended the talk of the socket that closed: the other side sees it at once.
    expect(b.page.locator("#space-talk .talk-tile")).to_have_count(1)
    b.page.wait_for_function("() => window.office.talk.peers.size === 0")
    valve.restore()
    # Back within the grace period, still in the space: the page joined again from its new socket.
    expect(b.page.locator("#space-talk .talk-tile")).to_have_count(2)
    b.page.wait_for_function("() => window.office.talk.peers.size === 1")
    wait_playing(b, [alice])
    expect(a.page.locator("#space-talk [data-talk=join]")).to_have_text("Leave talk")


# -- what a mesh costs (RECORD_BENCH=1) ------------------------------------------------------------

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
WINDOW_SECONDS = 20.0


def chromium_cpu_seconds() -> float:
    """CPU time (user + system) used so far by every Chromium process under this test process
    (the Playwright driver's browsers and their renderer, GPU and network processes), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent, name, used = {}, {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        pid = int(entry)
        name[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[pid], used[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    mine, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        children = [child for child, up in parent.items() if up == pid and child not in mine]
        mine.update(children)
        frontier.extend(children)
    return sum(used[pid] for pid in mine if "chrom" in name[pid].lower()) / ticks


def cpu_over_window() -> float:
    """Chromium's CPU seconds per wall second over WINDOW_SECONDS (1.0 = one core busy)."""
    start, began = chromium_cpu_seconds(), time.monotonic()
    time.sleep(WINDOW_SECONDS)  # the measurement window itself, not a wait for a condition
    return (chromium_cpu_seconds() - start) / (time.monotonic() - began)


@pytest.mark.skipif(os.environ.get("RECORD_BENCH") != "1", reason="a 3-minute measurement: RECORD_BENCH=1")
def test_mesh_cpu_per_page(open_talk_page, company, lounge, alice, bob):
    """CPU per page of a mesh of 3 and of 6 pages (fake microphone; then fake cameras on too), against
    the same pages open in the space but not in the talk; written to bench/results/space-talk-<date>.json."""
    people = [alice, bob] + [UserFactory(company=company, display_name=f"Person {i}") for i in range(4)]
    runs = []
    for size in (3, 6):
        pages = [open_talk_page(user) for user in people[:size]]
        for office in pages:
            enter(office, lounge)
        idle = cpu_over_window()
        for office in pages:
            office.page.locator("[data-talk=join]").click()
            expect(office.page.locator("#space-talk [data-talk=join]")).to_have_text("Leave talk", timeout=30_000)
        for index, office in enumerate(pages):
            office.page.wait_for_function(f"() => window.office.talk.peers.size === {size - 1}")
            wait_playing(office, [p for p in people[:size] if p is not people[index]])
        audio = cpu_over_window()
        for office in pages:
            office.page.locator("[data-talk=camera]").click()
        for office in pages:
            expect(office.page.locator("#space-talk .talk-tile.has-video")).to_have_count(size, timeout=30_000)
        video = cpu_over_window()
        runs.append(
            {
                "participants": size,
                "idle_cores": round(idle, 3),
                "audio_cores": round(audio, 3),
                "audio_video_cores": round(video, 3),
                "audio_per_page_cores": round((audio - idle) / size, 3),
                "audio_video_per_page_cores": round((video - idle) / size, 3),
            }
        )
        for office in pages:
            office.context.close()
        settle_disconnects([office.user for office in pages])
    figures = {
        "date": timezone.now().date().isoformat(),
        "what": "CPU of headless Chromium (all its processes) per page in a space's WebRTC mesh, fake media",
        "window_seconds": WINDOW_SECONDS,
        "cores_on_machine": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "chromium_args": CHROMIUM_ARGS + MEDIA_ARGS,
        "runs": runs,
    }
    print(json.dumps(figures))
    (RESULTS / f"space-talk-{figures['date']}.json").write_text(json.dumps(figures, indent=2) + "\n")
    assert all(run["audio_cores"] > 0 for run in runs)


def test_a_meeting_offers_its_talk_to_whoever_enters(open_talk_page, lounge, alice, bob):
    from spaces import services as space_services

    b = open_talk_page(bob)
    enter(b, lounge)
    space_services.meeting_start(actor=bob, space=lounge, title="Standup")
    a = open_talk_page(alice)
    # A running meeting asks first (knock or walk in); walking in is what "enters" means here.
    a.page.locator(f'.space[data-space="{lounge.id}"] [data-role=enter]').click()
    a.page.locator(".toast", has_text="A meeting is running in Lounge").get_by_role("button", name="Walk in").click()
    expect(a.page.locator(f'.space[data-space="{lounge.id}"] .avatar[data-user="{alice.id}"]')).to_be_visible()
    offer = a.page.locator(".toast", has_text="“Standup” is on in Lounge.")
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Join its talk").click()
    expect(a.page.locator("#space-talk [data-talk=join]")).to_have_text("Leave talk")
    expect(b.page.locator(f'#space-talk .talk-tile[data-user="{alice.id}"]')).to_be_visible()
