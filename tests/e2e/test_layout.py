"""The office page's layout: one screen on a laptop (nothing scrolls but the parts, a wide composer,
a floor whose names stay readable, one conversation at a time, a side bar and a chat width that are
remembered), and on a phone one view at a time behind a tab bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging import services as messaging_services
from tests.e2e.a11y import axe_violations, describe, serious
from tests.e2e.steps import enter, room_panel, send_in
from tests.factories import SpaceFactory, group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The floor of the README's screenshots: six spaces over 1,040 x 460 floor pixels.
LAYOUT = [
    ("Main office", "office", 12, 20, 20, 380, 210, False),
    ("Design studio", "office", 6, 420, 20, 280, 210, False),
    ("Boardroom", "meeting_room", 8, 720, 20, 300, 210, True),
    ("Lounge", "lounge", 10, 20, 250, 440, 190, False),
    ("Kitchen", "kitchen", 6, 480, 250, 240, 190, False),
    ("Focus pod", "focus", 1, 740, 250, 280, 190, False),
]
LAPTOPS = [(1280, 800, 400), (1440, 900, 480)]  # width, height, the composer's least width


@pytest.fixture
def floor(company):
    return {
        name: SpaceFactory(company=company, name=name, kind=kind, capacity=cap, x=x, y=y, w=w, h=h, is_private=private)
        for name, kind, cap, x, y, w, h, private in LAYOUT
    }


def page_scroll(page) -> dict:
    return page.evaluate(
        """() => {
            const s = document.scrollingElement;
            return { height: s.scrollHeight, width: s.scrollWidth, innerHeight, innerWidth };
        }"""
    )


def smallest_space_name(page) -> float:
    return page.evaluate(
        "() => Math.min(...[...document.querySelectorAll('.space .space-name')]"
        ".map((el) => parseFloat(getComputedStyle(el).fontSize)))"
    )


def shown_panels(page):
    return page.locator(".panels .panel:visible")


@pytest.mark.parametrize(("width", "height", "least"), LAPTOPS)
def test_a_laptop_gets_one_screen(open_office, alice, bob, floor, width, height, least):
    direct, _ = messaging_services.direct_get_or_create(actor=bob, other_id=alice.id)
    post(direct, bob, "Lunch at noon?")
    office = open_office(alice, width=width, height=height)
    page = office.page
    enter(office, floor["Lounge"])
    send_in(room_panel(office), "hello room")
    expect(room_panel(office).locator(".message-body", has_text="hello room")).to_be_visible()

    scroll = page_scroll(page)
    assert scroll["height"] <= scroll["innerHeight"], scroll
    assert scroll["width"] <= scroll["innerWidth"], scroll

    # The composer: wide, and on screen.
    composer = room_panel(office).locator("[data-role=composer]")
    box = composer.bounding_box()
    assert box["width"] >= least, box
    assert box["y"] + box["height"] <= height, box
    expect(composer.locator("textarea")).to_be_in_viewport(ratio=1)

    # Every space is drawn inside the floor's area, its name at 12 px or more, none cut off.
    assert smallest_space_name(page) >= 12
    area = page.locator("#floor-viewport").bounding_box()
    for space in floor.values():
        where = page.locator(f'.space[data-space="{space.id}"]')
        expect(where.locator("[data-role=name]")).to_be_visible()
        b = where.bounding_box()
        assert b["x"] >= area["x"] - 1 and b["x"] + b["width"] <= area["x"] + area["width"] + 1, space.name
        assert b["y"] >= area["y"] - 1 and b["y"] + b["height"] <= area["y"] + area["height"] + 1, space.name
        assert where.locator("[data-role=name]").evaluate("el => el.scrollWidth <= el.clientWidth + 1"), space.name
    # Who is inside, capacity, the lock of a private space; the floor is not transform-scaled.
    lounge = page.locator(f'.space[data-space="{floor["Lounge"].id}"]')
    expect(lounge.locator(f'.avatar[data-user="{alice.id}"] .presence-dot')).to_be_attached()
    expect(lounge.locator("[data-role=capacity]")).to_have_text("10")
    expect(page.locator(f'.space[data-space="{floor["Boardroom"].id}"] [data-role=lock]')).to_be_visible()
    assert page.locator("#floor").evaluate("el => getComputedStyle(el).transform") == "none"

    # The side bar holds the conversations (with their unread badges), the people and the spaces.
    sidebar = page.locator("#sidebar")
    direct_entry = sidebar.locator("#conversation-list .conversation", has_text="Bob Baker")
    expect(direct_entry.locator(".unread-badge")).to_have_text("1")
    expect(sidebar.locator("#wanderers")).to_be_attached()
    expect(sidebar.locator("#space-list .space-link")).to_have_count(len(LAYOUT))
    expect(sidebar.locator("#space-list .space-link.is-mine")).to_contain_text("you are here")

    print(
        f"\n[layout {width}x{height}] scrollHeight={scroll['height']} innerHeight={scroll['innerHeight']}"
        f" scrollWidth={scroll['width']} composer={box['width']:.0f}px"
        f" smallest space name={smallest_space_name(page)}px"
    )


def test_one_conversation_is_open_at_a_time(open_office, alice, bob, carol, floor):
    group_with(alice, bob, carol, title="Launch crew")
    group_with(alice, bob, title="Design crit")
    office = open_office(alice, width=1440, height=900)
    page = office.page
    enter(office, floor["Kitchen"])
    expect(shown_panels(page)).to_have_count(1)

    # Opening a conversation replaces the room chat; opening another replaces that one.
    page.locator("#conversation-list .conversation", has_text="Launch crew").click()
    expect(shown_panels(page)).to_have_count(1)
    expect(shown_panels(page).locator("[data-role=title]")).to_have_text("Launch crew")
    page.locator("#conversation-list .conversation", has_text="Design crit").click()
    expect(shown_panels(page).locator("[data-role=title]")).to_have_text("Design crit")
    expect(shown_panels(page)).to_have_count(1)
    assert page.locator(".panels .panel").count() == 1

    # Closing it brings back the room chat of where I am; the room's entry in the list opens it too.
    shown_panels(page).locator("[data-role=close]").click()
    expect(room_panel(office)).to_have_attribute("aria-label", "Room chat: Kitchen")
    expect(shown_panels(page)).to_have_count(1)
    page.locator("#conversation-list .conversation", has_text="Launch crew").click()
    expect(shown_panels(page).locator("[data-role=title]")).to_have_text("Launch crew")
    page.locator("#conversation-list .conversation", has_text="Kitchen").click()
    expect(room_panel(office)).to_have_attribute("aria-label", "Room chat: Kitchen")
    expect(room_panel(office).locator("textarea")).to_be_focused()
    expect(shown_panels(page)).to_have_count(1)


def test_the_side_bar_and_the_chat_width_are_remembered(open_office, alice, floor):
    office = open_office(alice, width=1280, height=800)
    page = office.page
    toggle = page.locator("#sidebar-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    floor_before = page.locator("#floor").bounding_box()["width"]
    toggle.click()
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # The floor takes the room the side bar left.
    page.wait_for_function(
        f"() => document.getElementById('floor').getBoundingClientRect().width > {floor_before + 100}"
    )

    # The chat is wider by two steps of the separator's arrow keys.
    resizer = page.get_by_role("separator", name="Chat width")
    before = int(resizer.get_attribute("aria-valuenow"))
    resizer.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(resizer).to_have_attribute("aria-valuenow", str(before + 48))

    page.reload()
    office.wait_connected()
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(resizer).to_have_attribute("aria-valuenow", str(before + 48))
    assert round(page.locator("#panels").bounding_box()["width"]) == before + 48
    scroll = page_scroll(page)
    assert scroll["height"] <= scroll["innerHeight"] and scroll["width"] <= scroll["innerWidth"], scroll

    toggle.click()
    expect(page.locator("#sidebar")).to_be_visible()
    page.reload()
    office.wait_connected()
    expect(page.locator("#sidebar")).to_be_visible()

    # The widest chat this window allows, then a narrower window: the chat gives way, the page does not scroll.
    resizer.focus()
    page.keyboard.press("End")
    widest = int(resizer.get_attribute("aria-valuemax"))
    expect(resizer).to_have_attribute("aria-valuenow", str(widest))
    page.set_viewport_size({"width": 1100, "height": 800})
    page.wait_for_function(f"() => document.getElementById('panels').getBoundingClientRect().width < {widest}")
    scroll = page_scroll(page)
    assert scroll["height"] <= scroll["innerHeight"] and scroll["width"] <= scroll["innerWidth"], scroll


def test_a_phone_shows_one_view_at_a_time(open_office, alice, bob, floor):
    from calling import services as calling_services

    office = open_office(alice, width=390, height=844)
    b = open_office(bob)
    page = office.page
    tabs = page.get_by_role("navigation", name="Views")
    expect(tabs).to_be_visible()
    tab_box = tabs.bounding_box()
    assert tab_box["y"] + tab_box["height"] == pytest.approx(844, abs=1)

    def no_sideways_scroll():
        scroll = page_scroll(page)
        assert scroll["width"] <= scroll["innerWidth"], scroll
        assert scroll["height"] <= scroll["innerHeight"], scroll

    def accessible(where: str) -> None:
        page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
        bad = serious(axe_violations(page))
        assert not bad, f"{where}: {describe(bad)}"

    # The floor first: its spaces as cards, nothing else.
    expect(tabs.get_by_role("button", name="Floor")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#floor-viewport")).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.locator("#panels")).to_be_hidden()
    assert smallest_space_name(page) >= 12
    no_sideways_scroll()
    accessible("the phone's floor")
    enter(office, floor["Lounge"])
    no_sideways_scroll()

    # Chats: the room chat of where I am, its composer on screen above the tab bar.
    tabs.get_by_role("button", name="Chats").click()
    expect(page.locator("#floor-viewport")).to_be_hidden()
    expect(room_panel(office)).to_be_visible()
    composer = room_panel(office).locator("[data-role=composer]")
    expect(composer).to_be_in_viewport(ratio=1)
    box = composer.bounding_box()
    assert box["y"] + box["height"] <= tab_box["y"] + 1
    send_in(room_panel(office), "from my phone")
    expect(room_panel(office).locator(".message-body", has_text="from my phone")).to_be_visible()
    no_sideways_scroll()
    scroll = page_scroll(page)
    print(
        f"\n[layout 390x844] scrollHeight={scroll['height']} scrollWidth={scroll['width']}"
        f" composer={box['width']:.0f}px ending at {box['y'] + box['height']:.0f}, tab bar from {tab_box['y']:.0f}"
    )
    accessible("the phone's chat")

    # People: who is around, and the spaces.
    tabs.get_by_role("button", name="People").click()
    expect(page.locator("#wanderers")).to_be_visible()
    expect(page.locator("#space-list")).to_be_visible()
    expect(room_panel(office)).to_be_hidden()
    no_sideways_scroll()
    accessible("the phone's people")

    # A message from Bob while I look elsewhere: a badge on Chats; the list opens it.
    b.page.locator(f'#wanderers .avatar[data-user="{alice.id}"], .space .avatar[data-user="{alice.id}"]').first.click()
    b.page.locator('#avatar-menu [data-action="message"]').click()
    send_in(b.page.locator("#conversation-slot .panel"), "psst, on your phone?")
    expect(tabs.locator("#chats-badge")).to_have_text(re.compile(r"^1"))
    tabs.get_by_role("button", name=re.compile("^Chats")).click()
    expect(room_panel(office)).to_be_visible()
    page.locator("#chats-back").click()
    expect(page.locator("#conversation-list")).to_be_visible()
    page.locator("#conversation-list .conversation", has_text="Bob Baker").click()
    direct = page.locator("#conversation-slot .panel")
    expect(direct.locator(".message-body", has_text="psst, on your phone?")).to_be_visible()
    expect(direct.locator("[data-role=composer]")).to_be_in_viewport(ratio=1)
    expect(tabs.locator("#chats-badge")).to_be_hidden()
    no_sideways_scroll()

    # A call rings: its toast fits the screen above the tab bar, and the People tab says so.
    calling_services.call_create(actor=bob, callee_id=alice.id, kind="voice")
    ring = page.locator(".toast.call-incoming")
    expect(ring).to_be_visible()
    expect(ring).to_be_in_viewport(ratio=1)
    assert ring.bounding_box()["y"] + ring.bounding_box()["height"] <= tab_box["y"] + 1
    expect(tabs.locator("#people-badge")).to_be_visible()
    no_sideways_scroll()
    ring.get_by_role("button", name="Decline").click()
    expect(tabs.locator("#people-badge")).to_be_hidden()
