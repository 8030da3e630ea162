"""Steps the browser tests share: the room panel, entering a space, sending from a panel."""

from __future__ import annotations

from playwright.sync_api import expect


def room_panel(office):
    return office.page.locator("#room-slot .panel")


def enter(office, space) -> None:
    """Enter `space` and wait for my avatar there and for that space's room chat, loaded."""
    where = office.page.locator(f'.space[data-space="{space.id}"]')
    where.locator("[data-role=enter]").click()
    expect(where.locator(f'.avatar[data-user="{office.user.id}"]')).to_be_visible()
    expect(room_panel(office)).to_have_attribute("aria-label", f"Room chat: {space.name}")
    expect(room_panel(office).locator(".history-status")).not_to_have_text("")


def send_in(panel, text: str) -> None:
    box = panel.locator("textarea[data-role=input]")
    box.fill(text)
    box.press("Enter")
