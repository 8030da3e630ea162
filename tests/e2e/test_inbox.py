"""The inbox in the browser: a direct message or a mention raises a second person's badge (live),
opening the inbox and clicking a notification opens its conversation and marks it read, and
"Mark all read" empties the badge. Under dnd the badge still counts, and no toast pops up."""

import time

import pytest
from playwright.sync_api import expect

from messaging import services as messaging_services
from presence.models import Presence
from tests.factories import group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def all_read(user, timeout: float = 5.0) -> bool:
    """Whether the server has every notification of `user` read, within `timeout` (the page marks
    them read at once and tells the server right after)."""
    deadline = time.monotonic() + timeout
    while user.notifications.filter(read_at__isnull=True).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def badge(office):
    return office.page.locator("#inbox-badge")


def test_a_message_raises_the_badge_and_the_inbox_opens_it(open_office, alice, bob):
    chat = group_with(alice, bob, title="Launch crew")
    a = open_office(alice)
    b = open_office(bob)
    expect(badge(b)).to_be_hidden()
    # Alice writes in the group from her page; Bob is not looking at it: a `direct` notification.
    a.page.locator("#conversation-list .conversation", has_text="Launch crew").click()
    box = a.page.locator("#conversation-slot .panel textarea[data-role=input]")
    box.fill("Shipping at five")
    box.press("Enter")
    expect(badge(b)).to_have_text("1")
    expect(b.page.locator("#inbox-toggle")).to_have_attribute("aria-label", "Notifications, 1 unread")
    # A mention from elsewhere (the server's own path) counts too, and pops up a toast.
    post(chat, alice, f"@{bob.username} can you check the release notes?")
    expect(badge(b)).to_have_text("2")
    expect(b.page.locator(".toast", has_text="mentioned you")).to_be_visible()

    b.page.locator("#inbox-toggle").click()
    panel = b.page.locator("#inbox-panel")
    expect(panel).to_be_visible()
    items = panel.locator(".inbox-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Alice Archer mentioned you")
    expect(items.nth(1)).to_contain_text("Alice Archer sent you a message")
    expect(items.nth(1)).to_contain_text("Shipping at five")
    items.nth(1).click()
    # The conversation opens, and what notified Bob of it is read.
    expect(panel).to_be_hidden()
    expect(b.page.locator("#conversation-slot .panel")).to_have_attribute("aria-label", "Conversation: Launch crew")
    expect(badge(b)).to_be_hidden()
    assert all_read(bob)


def test_mark_all_read_and_no_toast_under_dnd(open_office, alice, bob):
    chat, _ = messaging_services.direct_get_or_create(actor=alice, other_id=bob.id)
    b = open_office(bob)
    Presence.objects.filter(user=bob).update(status="dnd")
    b.page.evaluate("() => { window.office.me.status = 'dnd'; }")  # as presence.updated would set it
    post(chat, alice, f"@{bob.username} one")
    post(chat, alice, "two")
    expect(badge(b)).to_have_text("2")
    expect(b.page.locator(".toast", has_text="mentioned you")).to_have_count(0)
    b.page.locator("#inbox-toggle").click()
    b.page.locator("#inbox-read-all").click()
    expect(badge(b)).to_be_hidden()
    expect(b.page.locator("#inbox-panel .inbox-item.is-unread")).to_have_count(0)
    b.page.keyboard.press("Escape")
    expect(b.page.locator("#inbox-panel")).to_be_hidden()
    expect(b.page.locator("#inbox-toggle")).to_be_focused()
    assert all_read(bob)
