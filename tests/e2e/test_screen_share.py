"""Screen sharing in a 1:1 call, in two real browsers: one click shares (Chromium picks its fake
"Entire screen" by itself), the other side sees "X is sharing" and the screen's frames, the presenter
stops it; and it stops when the call ends. The callee of a voice call can share too (the caller's
offer carries a line for it either way). Callers beside each other in one space call each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OfficePage, open_office_page, settle_disconnects
from tests.e2e.steps import enter
from tests.e2e.test_calls import PC_STATE, open_menu, wait_online
from tests.e2e.test_space_talk import screen_browser  # noqa: F401  (the fixture: Chromium with a fake screen)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREEN_PLAYS = (
    "() => { const v = document.querySelector('.call-view .call-screen');"
    " return v && !v.hidden && v.videoWidth > 0 && v.currentTime > 0.3; }"
)


@pytest.fixture
def open_page(screen_browser, live_server_url: str) -> Iterator[Callable[..., OfficePage]]:  # noqa: F811
    opened: list[OfficePage] = []

    def open_one(user) -> OfficePage:
        office = open_office_page(screen_browser, live_server_url, user)
        office.page.set_default_timeout(15_000)
        office.page.wait_for_function("() => window.office.invitations != null")
        opened.append(office)
        return office

    yield open_one
    problems = {o.user.username: o.unexpected_errors() for o in opened if o.unexpected_errors()}
    for office in opened:
        office.context.close()
    settle_disconnects([office.user for office in opened])
    assert not problems, f"console errors in the browser: {problems}"


def connect_call(a: OfficePage, b: OfficePage, callee, kind: str) -> None:
    open_menu(a, callee).locator(f'[data-action="{kind}"]').click()
    b.page.locator(".toast.call-incoming").get_by_role("button", name="Accept").click()
    for office in (a, b):
        office.page.wait_for_function(f"() => ({PC_STATE}) === 'connected'")


def test_screen_share_in_a_call_is_seen_by_the_other_side(open_page, lounge, alice, bob):
    a, b = open_page(alice), open_page(bob)
    wait_online(alice, bob)
    # Beside each other in one space: the menu still offers a call.
    for office in (a, b):
        enter(office, lounge)
    connect_call(a, b, bob, "video")

    a.page.locator(".call-view .call-share").click()
    expect(a.page.locator(".call-view .call-sharing")).to_have_text("You are sharing your screen")
    expect(b.page.locator(".call-view .call-sharing")).to_have_text("Alice Archer is sharing")
    b.page.wait_for_function(SCREEN_PLAYS)

    a.page.locator(".call-view .call-share").click()  # Stop sharing
    expect(b.page.locator(".call-view .call-sharing")).to_be_hidden()
    expect(b.page.locator(".call-view .call-screen")).to_be_hidden()
    assert a.page.evaluate("() => window.office.invitations.session.screenTrack") is None

    # The callee of the call shares too; hanging up stops the share.
    b.page.locator(".call-view .call-share").click()
    expect(a.page.locator(".call-view .call-sharing")).to_have_text("Bob Baker is sharing")
    a.page.wait_for_function(SCREEN_PLAYS)
    b.page.locator(".call-view .call-hangup").click()
    b.page.wait_for_function("() => window.office.invitations.session === null")
    expect(b.page.locator(".call-view")).to_have_count(0)


def test_voice_call_can_share_a_screen(open_page, alice, bob):
    a, b = open_page(alice), open_page(bob)
    wait_online(alice, bob)
    connect_call(a, b, bob, "voice")
    b.page.locator(".call-view .call-share").click()
    expect(a.page.locator(".call-view .call-sharing")).to_have_text("Bob Baker is sharing")
    a.page.wait_for_function(SCREEN_PLAYS)
