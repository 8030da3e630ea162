"""A lived-in office, photographed at desktop and phone widths.

The pictures land in a temporary directory; with UPDATE_SCREENSHOTS=1 (`make screenshots`) they
replace the README's: docs/office-desktop.png (a laptop, 1440x900), office-narrow.png (a phone,
390x844), office-dark.png (the laptop in dark mode) and office-call.png (a video call while chatting).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging import services as messaging_services
from presence.models import Connection, Presence
from spaces import services as space_services
from tests.factories import SpaceFactory, UserFactory, group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
LAYOUT = [
    ("Main office", "office", 12, 20, 20, 380, 210),
    ("Design studio", "office", 6, 420, 20, 280, 210),
    ("Boardroom", "meeting_room", 8, 720, 20, 300, 210),
    ("Lounge", "lounge", 10, 20, 250, 440, 190),
    ("Kitchen", "kitchen", 6, 480, 250, 240, 190),
    ("Focus pod", "focus", 1, 740, 250, 280, 190),
]
PEOPLE = [
    ("alice", "Alice Archer", "Product lead"),
    ("bob", "Bob Baker", "Backend"),
    ("carol", "Carol Clark", "Design"),
    ("dave", "Dave Dunn", "Sales"),
    ("erin", "Erin Evans", "Support"),
    ("frank", "Frank Fisher", "Ops"),
    ("gina", "Gina Gray", "Marketing"),
    ("hugo", "Hugo Hart", "Finance"),
]


def online(user, status: str = "online") -> None:
    """Mark someone connected without a browser (a live connection row keeps the sweep away)."""
    Connection.objects.create(
        channel_name=f"e2e.{user.id}", user=user, server_id="e2e-screenshots", heartbeat_at=timezone.now()
    )
    Presence.objects.update_or_create(user=user, defaults={"connected": True, "status": status})


@pytest.fixture
def lived_in_office(company):
    company.name = "Acme Robotics"
    company.save()
    spaces = {
        name: SpaceFactory(company=company, name=name, kind=kind, capacity=cap, x=x, y=y, w=w, h=h)
        for name, kind, cap, x, y, w, h in LAYOUT
    }
    people = {
        username: UserFactory(company=company, username=username, display_name=name, title=title)
        for username, name, title in PEOPLE
    }
    for username, status in [
        ("bob", "online"), ("carol", "busy"), ("dave", "online"), ("erin", "away"), ("frank", "online"),
        ("gina", "dnd"),
    ]:
        online(people[username], status)
    space_services.space_enter(actor=people["carol"], space=spaces["Boardroom"])
    space_services.space_enter(actor=people["dave"], space=spaces["Boardroom"])
    space_services.meeting_start(actor=people["carol"], space=spaces["Boardroom"], title="Q3 roadmap review")
    space_services.space_enter(actor=people["erin"], space=spaces["Design studio"])
    space_services.space_enter(actor=people["frank"], space=spaces["Kitchen"])
    space_services.space_enter(actor=people["bob"], space=spaces["Lounge"])
    space_services.space_enter(actor=people["gina"], space=spaces["Focus pod"])
    room, _ = messaging_services.room_conversation_get_or_create(space=spaces["Lounge"])
    post(room, people["bob"], "Morning! Coffee machine on 2 is fixed ☕")
    post(room, people["bob"], "Release notes draft: https://example.com/notes/3.2 — comments welcome")
    launch = group_with(people["alice"], people["bob"], people["erin"], title="Launch crew")
    post(launch, people["erin"], "Support macros are ready for the launch.")
    post(launch, people["bob"], "Great, I'll wire them into the help widget.")
    direct, _ = messaging_services.direct_get_or_create(actor=people["frank"], other_id=people["alice"].id)
    post(direct, people["frank"], "Can you look at the budget sheet before 3?")
    return spaces, people


def test_office_screenshots(open_office, lived_in_office, tmp_path):
    spaces, people = lived_in_office
    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    alice = people["alice"]

    desktop = open_office(alice, width=1440, height=900)
    page = desktop.page
    page.locator(f'.space[data-space="{spaces["Lounge"].id}"] [data-role=enter]').click()
    panel = page.locator("#room-slot .panel")
    expect(panel.locator(".message-body", has_text="Coffee machine")).to_be_visible()
    box = panel.locator("textarea")
    box.fill("On my way, saving you a seat")
    box.press("Enter")
    expect(panel.locator(".message.is-own .message-body", has_text="saving you a seat")).to_be_visible()
    expect(panel.locator(".message.is-own.is-pending")).to_have_count(0)
    expect(page.locator("#conversation-list .unread-badge")).to_have_count(2)
    expect(page.locator(".space-meeting", has_text="Q3 roadmap review")).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=str(target / "office-desktop.png"))

    narrow = open_office(alice, width=390, height=844)
    # A phone shows one view at a time: the chats, here the room chat of where Alice is.
    narrow.page.get_by_role("navigation", name="Views").get_by_role("button", name="Chats").click()
    expect(narrow.page.locator("#room-slot .panel")).to_be_visible()
    expect(narrow.page.locator("#room-slot .message-body", has_text="saving you a seat")).to_be_visible()
    narrow.page.screenshot(path=str(target / "office-narrow.png"))

    page.emulate_media(color_scheme="dark")
    page.wait_for_function("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'")
    page.screenshot(path=str(target / "office-dark.png"))

    for name in ("office-desktop.png", "office-narrow.png", "office-dark.png"):
        assert (target / name).stat().st_size > 10_000


def test_call_screenshot(media_browser, live_server_url, lived_in_office, tmp_path):
    """Alice on a video call with Bob while she chats in the Lounge."""
    from tests.e2e.conftest import open_office_page

    spaces, people = lived_in_office
    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    alice_page = open_office_page(media_browser, live_server_url, people["alice"], width=1440, height=900)
    bob_page = open_office_page(media_browser, live_server_url, people["bob"], width=1280, height=800)
    try:
        a, b = alice_page.page, bob_page.page
        a.locator(f'.space[data-space="{spaces["Lounge"].id}"] [data-role=enter]').click()
        expect(a.locator("#room-slot .panel .message-body", has_text="Coffee machine")).to_be_visible()
        a.locator(f'.space .avatar[data-user="{people["bob"].id}"]').first.click()
        a.locator('#avatar-menu [data-action="video"]').click()
        b.locator(".toast.call-incoming").get_by_role("button", name="Accept").click()
        a.wait_for_function(
            "() => { const v = document.querySelector('.call-view .call-remote'); return v && v.videoWidth > 0; }",
            timeout=15_000,
        )
        expect(a.locator(".call-view .call-status")).to_contain_text("Connected")
        a.mouse.move(0, 0)
        a.screenshot(path=str(target / "office-call.png"))
        assert (target / "office-call.png").stat().st_size > 10_000
        b.locator(".call-view .call-hangup").click()
        expect(a.locator(".call-view")).to_have_count(0)
    finally:
        alice_page.context.close()
        bob_page.context.close()
