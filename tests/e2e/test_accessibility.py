"""Accessibility in a real browser: axe-core (tests/e2e/vendor, see a11y.py) finds no serious or
critical violation on the sign-in page, the office and an open conversation, in light and in dark
mode, with the menus, toasts and message toolbars a person opens along the way; and a keyboard user
can skip straight to the main content."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import axe_violations, by_impact, describe, serious
from tests.e2e.steps import enter, room_panel
from tests.e2e.steps import send_in as send

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHEMES = ("light", "dark")


def assert_accessible(page, where: str) -> None:
    # A toast fading in is checked at its full colours, not half-way (axe blends its opacity in).
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    violations = axe_violations(page)
    bad = serious(violations)
    assert not bad, f"{where}: {by_impact(violations)}\n{describe(bad)}"


def test_the_sign_in_page(browser, live_server_url, alice):
    for scheme in SCHEMES:
        context = browser.new_context(base_url=live_server_url, color_scheme=scheme)
        page = context.new_page()
        page.goto("/accounts/login/")
        expect(page.get_by_role("heading", name="Virtual Office")).to_be_visible()
        assert_accessible(page, f"sign-in ({scheme})")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_be_visible()
        assert_accessible(page, f"sign-in with an error ({scheme})")
        context.close()


def test_the_office_and_an_open_conversation(open_office, alice, bob, carol, lounge, kitchen):
    a = open_office(alice)
    b = open_office(bob)
    c = open_office(carol)
    a.allow("409")  # the full kitchen: refused, and said in a toast
    enter(b, kitchen)
    enter(a, lounge)
    enter(c, lounge)
    c.page.select_option("#presence-select", "dnd")
    send(room_panel(c), "Standup notes are at https://example.com/notes, see you there")
    message = room_panel(a).locator(".message:not(.system)").first
    expect(message).to_be_visible()
    message.hover()
    message.locator("[data-act=react]").click()
    message.locator('[data-act=pick][data-emoji="👍"]').click()
    expect(message.locator(".reaction")).to_have_count(1)
    # A direct conversation with unread messages waiting in the list.
    b.page.locator(f'.avatar[data-user="{alice.id}"]').first.click()
    b.page.locator('#avatar-menu [data-action="message"]').click()
    direct = b.page.locator("#conversation-slot .panel")
    send(direct, "Lunch at noon?")
    expect(a.page.locator("#conversation-list .unread-badge")).to_have_text("1")

    for scheme in SCHEMES:
        a.page.emulate_media(color_scheme=scheme)
        a.page.wait_for_function(f"() => getComputedStyle(document.body).colorScheme === '{scheme}'")
        a.page.mouse.move(1, 1)
        assert_accessible(a.page, f"the office ({scheme})")

        # Someone's menu, with what is not possible now and why (Carol is on do not disturb).
        a.page.locator(f'.space .avatar[data-user="{carol.id}"]').click()
        expect(a.page.locator("#avatar-menu .menu-refusal")).to_have_count(1)
        assert_accessible(a.page, f"the avatar menu ({scheme})")
        a.page.keyboard.press("Escape")

        # A refusal in a toast (the kitchen is full).
        a.page.locator(f'.space[data-space="{kitchen.id}"] [data-role=enter]').click()
        expect(a.page.locator(".toast-error")).to_be_visible()
        assert_accessible(a.page, f"an error toast ({scheme})")
        a.page.locator(".toast-error .toast-dismiss").click()

        # The conversation open, a message hovered (its toolbar shown), the composer holding a file.
        a.page.locator("#conversation-list").get_by_role("button", name="Bob Baker").click()
        panel = a.page.locator("#conversation-slot .panel")
        expect(panel.locator(".message:not(.system)")).to_have_count(1)
        panel.locator("input[type=file]").set_input_files(
            [{"name": "agenda.txt", "mimeType": "text/plain", "buffer": b"1. lunch"}]
        )
        panel.locator(".message:not(.system)").hover()
        expect(panel.locator(".message-actions")).to_be_visible()
        assert_accessible(a.page, f"an open conversation ({scheme})")
        panel.locator("[data-role=close]").click()


def test_the_toggle_and_the_office_in_dark_mode_by_choice(open_office, alice, bob, lounge):
    a = open_office(alice)
    open_office(bob)
    enter(a, lounge)
    a.page.emulate_media(color_scheme="light")
    a.page.get_by_role("button", name="Dark mode").click()
    expect(a.page.locator("html")).to_have_attribute("data-theme", "dark")
    assert_accessible(a.page, "the office, dark by the toggle")


def test_a_skip_link_leads_to_the_main_content(open_office, alice, lounge):
    page = open_office(alice).page
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    main = page.get_by_role("main")
    expect(main).to_be_focused()
    # The next stop is the first thing on the floor, past the top bar and the side list.
    page.keyboard.press("Tab")
    expect(page.locator(f'.space[data-space="{lounge.id}"] [data-role=enter]')).to_be_focused()
