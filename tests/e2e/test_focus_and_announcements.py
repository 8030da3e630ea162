"""Toasts and dialogs manage the focus, and new messages are said politely to screen readers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import enter, room_panel
from tests.e2e.steps import send_in as send

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_messages_are_announced_politely(open_office, alice, bob, lounge):
    a = open_office(alice)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    announcer = a.page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    # The message list itself stays quiet (it would read every history page out too).
    expect(room_panel(a).get_by_role("log")).to_have_attribute("aria-live", "off")
    send(room_panel(b), "lunch at noon?")
    expect(announcer).to_have_text("Bob Baker in Lounge: lunch at noon?")
    # My own messages are not read back to me.
    send(room_panel(a), "sure")
    expect(room_panel(b).locator(".message-body", has_text="sure")).to_have_count(1)
    expect(announcer).to_have_text("Bob Baker in Lounge: lunch at noon?")
    # A burst is one sentence, not three.
    for text in ("one", "two", "three"):
        send(room_panel(b), text)
    expect(announcer).to_have_text("3 new messages in Lounge")
    # A direct message whose conversation is not open is said too (its badge is what others see).
    b.page.locator(f'.space .avatar[data-user="{alice.id}"]').click()
    b.page.locator('#avatar-menu [data-action="message"]').click()
    send(b.page.locator("#conversation-slot .panel"), "psst")
    expect(announcer).to_have_text("Bob Baker: psst")
    # History loaded on a reload is not announced.
    a.page.reload()
    a.wait_connected()
    expect(room_panel(a).locator(".message-body", has_text="three")).to_have_count(1)
    expect(announcer).to_have_text("")


def test_toasts_give_the_focus_back(open_office, alice, bob, lounge, kitchen):
    from calling import services as calling_services

    a = open_office(alice)
    b = open_office(bob)
    a.allow("409")  # the refused entry below: the browser logs it, the page says it in a toast
    enter(b, kitchen)
    picker = a.page.locator("#presence-select")
    picker.focus()
    a.page.locator(f'.space[data-space="{kitchen.id}"] [data-role=enter]').click()
    toast = a.page.locator(".toast-error")
    expect(toast).to_contain_text("Kitchen is full")
    # The toast did not take the focus from where Alice was (the click gave it to the space's button).
    kitchen_button = a.page.locator(f'.space[data-space="{kitchen.id}"] [data-role=enter]')
    expect(kitchen_button).to_be_focused()
    # Alice moves into the toast (as Tab would) and dismisses it with Escape: back where she was.
    toast.locator(".toast-dismiss").focus()
    a.page.keyboard.press("Escape")
    expect(toast).to_have_count(0)
    expect(kitchen_button).to_be_focused()

    # An invitation answered from the keyboard: the focus returns too, while the floor changes.
    enter(b, lounge)
    calling_services.teleport_create(actor=bob, invitee_id=alice.id)
    invite = a.page.locator(".toast.teleport-incoming")
    expect(invite).to_contain_text("Bob Baker invites you to Lounge.")
    expect(invite).to_contain_text("Press Alt+Shift+T to answer.")
    picker.focus()
    # The shortcut reaches the invitation's first button from wherever the focus is.
    a.page.keyboard.press("Alt+Shift+T")
    expect(invite.get_by_role("button", name="Go there")).to_be_focused()
    a.page.keyboard.press("Enter")
    expect(invite).to_have_count(0)
    expect(picker).to_be_focused()
    expect(a.page.locator(f'.space[data-space="{lounge.id}"] .avatar[data-user="{alice.id}"]')).to_be_visible()
