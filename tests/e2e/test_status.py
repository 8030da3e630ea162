"""Status in real browsers: automatic busy during a call and back to online, seen by a third person;
a call to a busy person rings without sound; quiet hours set in the status dialog make someone
do-not-disturb with the reason shown to others."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from presence.models import Presence
from tests.e2e.a11y import axe_violations, describe, serious
from tests.e2e.conftest import OfficePage, open_office_page, settle_disconnects

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_page(media_browser, live_server_url: str) -> Iterator[Callable[..., OfficePage]]:
    """Pages in the Chromium with fake media (a call needs a microphone to be answered)."""
    opened: list[OfficePage] = []

    def open_one(user) -> OfficePage:
        office = open_office_page(media_browser, live_server_url, user)
        office.page.set_default_timeout(10_000)
        office.page.wait_for_function("() => window.office.invitations != null && window.office.status != null")
        opened.append(office)
        return office

    yield open_one
    problems = {o.user.username: o.unexpected_errors() for o in opened if o.unexpected_errors()}
    for office in opened:
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


def status_of(office: OfficePage, person):
    """The status line under a person's name in the side list ("Around the office")."""
    return office.page.locator(f'.person[data-person="{person.id}"] [data-role=status]')


def open_menu(office: OfficePage, person):
    office.page.locator(f'.avatar[data-user="{person.id}"]').first.click()
    menu = office.page.locator("#avatar-menu")
    expect(menu).to_be_visible()
    return menu


def test_busy_in_a_call_then_online_again_seen_by_a_third_person(open_page, alice, bob, carol):
    a, b, c = open_page(alice), open_page(bob), open_page(carol)
    wait_online(alice, bob, carol)
    expect(status_of(c, alice)).to_have_text("Online")

    a.page.evaluate(f"window.office.invitations.call({bob.id}, 'voice')")
    incoming = b.page.locator(".toast.call-incoming")
    expect(incoming).to_contain_text("Alice Archer is calling you")
    expect(incoming).to_have_attribute("data-ring", "sound")
    incoming.get_by_role("button", name="Accept").click()

    expect(status_of(c, alice)).to_have_text("Busy · in a call")
    expect(status_of(c, bob)).to_have_text("Busy · in a call")
    menu = open_menu(c, alice)
    expect(menu.locator(".menu-status")).to_have_text("Busy · in a call")
    c.page.keyboard.press("Escape")

    b.page.locator(".call-view .call-hangup").click()
    expect(status_of(c, alice)).to_have_text("Online")
    expect(status_of(c, bob)).to_have_text("Online")


def test_a_busy_person_is_called_quietly(open_page, alice, bob):
    a, b = open_page(alice), open_page(bob)
    wait_online(alice, bob)
    b.page.select_option("#presence-select", "busy")
    expect(status_of(a, bob)).to_have_text("Busy")
    call = a.page.evaluate(f"window.office.invitations.call({bob.id}, 'voice')")
    assert call["callee_status"] == "busy" and call["quiet"] is True
    incoming = b.page.locator(".toast.call-incoming")
    expect(incoming).to_have_attribute("data-ring", "silent")
    assert "toast-quiet" in incoming.get_attribute("class")
    assert b.page.evaluate("window.office.invitations.calls.ringing.size") == 0, "no ring sound plays"
    incoming.get_by_role("button", name="Decline").click()


def test_quiet_hours_from_the_status_dialog_show_as_dnd_to_others(open_page, alice, bob):
    a, b = open_page(alice), open_page(bob)
    wait_online(alice, bob)

    menu = open_menu(b, bob)
    menu.get_by_role("menuitem", name="Set status…").click()
    dialog = b.page.locator("#status-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#quiet-timezone")).to_have_value(
        b.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    )
    bad = serious(axe_violations(b.page, context="#status-dialog"))
    assert not bad, describe(bad)
    now = datetime.now(UTC)
    end = now + timedelta(hours=2)
    dialog.get_by_label("Status text").fill("Heads down")
    dialog.locator("#quiet-on").check()
    for day in range(7):
        dialog.locator(f"#quiet-day-{day}").check()
    dialog.locator("#quiet-start").fill(f"{now - timedelta(minutes=1):%H:%M}")
    dialog.locator("#quiet-end").fill(f"{end:%H:%M}")
    dialog.locator("#quiet-timezone").select_option("UTC")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # Alice sees the reason and its end in her own time zone (the browser's: the test runs in UTC).
    until = a.page.evaluate(
        "(iso) => new Intl.DateTimeFormat('en-GB', {hour: '2-digit', minute: '2-digit', hourCycle: 'h23'})"
        ".format(new Date(iso))",
        end.replace(second=0, microsecond=0).isoformat(),
    )
    expect(status_of(a, bob)).to_have_text(f"Do not disturb · quiet hours until {until} · Heads down")
    menu = open_menu(a, bob)
    expect(menu.locator(".menu-status")).to_contain_text("quiet hours until")
    expect(menu.locator(".menu-refusals")).to_contain_text("do not disturb")
    a.page.keyboard.press("Escape")
    presence = Presence.objects.get(user=bob)
    assert presence.availability().status_reason == "schedule"

    # Turning the quiet hours off gives back plain online, on both pages.
    open_menu(b, bob).get_by_role("menuitem", name="Set status…").click()
    expect(dialog.locator("#quiet-on")).to_be_checked()
    dialog.locator("#quiet-on").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(status_of(a, bob)).to_have_text("Online · Heads down")


def test_what_dnd_held_back_is_summed_up_when_it_ends(open_page, alice, bob):
    from messaging import services as messaging_services

    b = open_page(bob)
    wait_online(bob)
    b.page.select_option("#presence-select", "dnd")
    b.page.wait_for_function("() => window.office.me.status === 'dnd'")
    conversation, _ = messaging_services.direct_get_or_create(actor=alice, other_id=bob.id)
    messaging_services.message_send(actor=alice, conversation=conversation, body="@bob can you look at this?")
    messaging_services.message_send(actor=alice, conversation=conversation, body="@bob and this one")
    b.page.wait_for_function("() => window.office.status.holds.held.mention === 2")
    expect(b.page.locator(".toast")).to_have_count(0)
    # Nothing popped up meanwhile; once dnd ends, one toast says what waited.
    b.page.select_option("#presence-select", "online")
    summary = b.page.locator(".toast", has_text="While you were in do not disturb")
    expect(summary).to_contain_text("2 mentions")
