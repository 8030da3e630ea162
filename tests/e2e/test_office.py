"""The office page in a real browser against a real server: floor, avatar menu, room chat, live updates."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from presence.models import Presence
from tests.e2e.conftest import SocketValve
from tests.e2e.steps import enter, room_panel, send_in
from tests.factories import SpaceFactory, UserFactory, group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def focus_pod(company):
    return SpaceFactory(company=company, name="Focus pod", kind="focus", capacity=1, x=360, y=20, w=220, h=180)


def space_of(office, space) -> object:
    return office.page.locator(f'.space[data-space="{space.id}"]')


def send(office, text: str, panel=None) -> None:
    send_in(panel if panel is not None else room_panel(office), text)


def user_messages(panel, text: str) -> object:
    return panel.locator(".message:not(.system) .message-body", has_text=text)


def test_login_form_leads_to_the_office(browser, live_server_url, alice, lounge):
    context = browser.new_context(base_url=live_server_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto("/")
    expect(page).to_have_url(f"{live_server_url}/accounts/login/?next=/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_be_visible()
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server_url}/")
    expect(page.locator(".me-name")).to_have_text("Alice Archer")
    expect(page.locator(f'.space[data-space="{lounge.id}"] [data-role=name]')).to_have_text("Lounge")
    page.wait_for_function("() => window.office && window.office.socket.everOpened")
    context.close()
    assert errors == []


def test_entering_a_space_moves_the_avatar_for_everyone(open_office, alice, bob, lounge):
    a = open_office(alice)
    b = open_office(bob)
    # Both start in the side list, not in a space.
    expect(b.page.locator(f'#wanderers .person[data-person="{alice.id}"]')).to_be_visible()
    enter(a, lounge)
    started = time.monotonic()
    expect(space_of(b, lounge).locator(f'.avatar[data-user="{alice.id}"]')).to_be_visible(timeout=2000)
    moved_after = time.monotonic() - started
    expect(b.page.locator(f'#wanderers .person[data-person="{alice.id}"]')).to_have_count(0)
    expect(space_of(b, lounge).locator("[data-role=count]")).to_have_text("1")
    expect(space_of(a, lounge)).to_have_class(re.compile(r"\bis-mine\b"))
    # The join shows as a system message, styled apart from people's messages.
    note = room_panel(a).locator(".message.system", has_text="Alice Archer joined Lounge")
    expect(note).to_have_count(1)
    assert moved_after < 2.0


def test_room_chat_is_live_typing_shows_and_bodies_are_text(open_office, alice, bob, lounge):
    a = open_office(alice)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    # B sees A watching the room, and the join notes of both.
    expect(room_panel(b).locator(".message.system", has_text="Bob Baker joined Lounge")).to_have_count(1)
    expect(room_panel(a).locator(".panel-watchers .avatar")).to_have_count(1)
    expect(room_panel(a).locator(".panel-watchers")).to_have_attribute("aria-label", "Here now: Bob Baker")

    room_panel(a).locator("textarea").press_sequentially("hel", delay=30)
    expect(room_panel(b).locator("[data-role=typing]")).to_have_text("Alice is typing…")

    body = "hi <script>window.__pwned = 1</script> <b>bold</b> see https://example.com/docs?x=1."
    started = time.monotonic()
    send(a, body)
    expect(user_messages(room_panel(b), "window.__pwned")).to_have_count(1, timeout=1000)
    seen_after = time.monotonic() - started
    message = room_panel(b).locator(".message:not(.system)").last
    expect(message.locator(".message-body")).to_have_text(body)
    assert message.locator(".message-body script, .message-body b").count() == 0
    assert b.page.evaluate("() => window.__pwned") is None
    link = message.locator(".message-body a")
    expect(link).to_have_attribute("href", "https://example.com/docs?x=1")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(room_panel(b).locator("[data-role=typing]")).to_have_text("")
    assert seen_after < 1.0

    # Reactions, replies, edits and deletes reach the other side.
    message.hover()
    message.locator("[data-act=react]").click()
    message.locator('[data-act=pick][data-emoji="🎉"]').click()
    expect(room_panel(a).locator(".message:not(.system)").last.locator(".reaction")).to_have_text("🎉 1")
    mine = room_panel(a).locator(".message.is-own").last
    mine.hover()
    mine.locator("[data-act=edit]").click()
    mine.locator(".edit-box textarea").fill("edited words")
    mine.locator(".edit-box textarea").press("Enter")
    expect(room_panel(b).locator(".message:not(.system)").last.locator(".message-body")).to_have_text("edited words")
    expect(room_panel(b).locator(".message:not(.system)").last.locator("[data-role=edited]")).to_be_visible()
    reply_to = room_panel(b).locator(".message:not(.system)").last
    reply_to.hover()
    reply_to.locator("[data-act=reply]").click()
    send(b, "a reply")
    expect(room_panel(a).locator(".message-reply", has_text="edited words")).to_have_count(1)
    mine = room_panel(a).locator(".message.is-own", has_text="edited words")
    mine.hover()
    mine.locator("[data-act=delete]").click()
    mine.locator("[data-act=delete]").click()
    expect(room_panel(b).locator(".message.is-deleted")).to_have_text(
        re.compile("This message was deleted")
    )


def test_avatar_menu_offers_what_is_possible(open_office, alice, bob, carol, lounge):
    a = open_office(alice)
    c = open_office(carol)
    c.page.select_option("#presence-select", "dnd")
    b = open_office(bob)
    expect(b.page.locator(f'.avatar[data-user="{carol.id}"]').first).to_have_class(
        re.compile(r"status-dnd")
    )
    assert Presence.objects.get(user=carol).status == "dnd"

    # Alice is online and not with Bob: messages and calls; no space of Bob's to invite her to, and
    # the menu says so instead of offering it.
    b.page.locator(f'#wanderers .avatar[data-user="{alice.id}"]').click()
    menu = b.page.locator("#avatar-menu")
    expect(menu.locator("[role=menu]")).to_be_visible()
    items = menu.locator("[role=menuitem]")
    expect(items).to_have_count(3)
    expect(items).to_have_text(["Send message", "Voice call", "Video call"])
    expect(menu.locator('[data-action="invite"]')).to_have_count(0)
    refusal = menu.locator('.menu-refusal[data-refused="invite"]')
    expect(refusal.locator(".menu-refused")).to_have_text("Invite to my space")
    expect(refusal.locator(".menu-reason")).to_have_text("You are not in a space")
    # Keyboard: focus starts on the first item, arrows move (and wrap), Escape closes and gives focus back.
    expect(items.nth(0)).to_be_focused()
    b.page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    b.page.keyboard.press("ArrowUp")
    b.page.keyboard.press("ArrowUp")
    expect(items.nth(2)).to_be_focused()
    b.page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(b.page.locator(f'#wanderers .avatar[data-user="{alice.id}"]')).to_be_focused()

    # Carol is in dnd: only a message is offered; calls and the invitation say why not.
    b.page.locator(f'#wanderers .avatar[data-user="{carol.id}"]').click()
    expect(items).to_have_text(["Send message"])
    expect(menu.locator(".menu-refusal")).to_have_count(1)
    expect(menu.locator(".menu-refusal .menu-refused")).to_have_text("Call, Invite to my space")
    expect(menu.locator(".menu-refusal .menu-reason")).to_have_text("Carol is on do not disturb")
    b.page.keyboard.press("Escape")

    # Together in the lounge: calling Alice works (the contract), inviting her where she is does not.
    enter(a, lounge)
    enter(b, lounge)
    space_of(b, lounge).locator(f'.avatar[data-user="{alice.id}"]').click()
    expect(items).to_have_text(["Send message", "Voice call", "Video call"])
    expect(menu.locator('.menu-refusal[data-refused="invite"] .menu-reason')).to_have_text("Alice is already with you")

    # Enter on "Send message" opens the direct conversation; Alice gets it with an unread badge.
    menu.locator('[data-action="message"]').focus()
    b.page.keyboard.press("Enter")
    direct = b.page.locator("#conversation-slot .panel")
    expect(direct.locator("[data-role=title]")).to_have_text("Alice Archer")
    expect(direct.locator("textarea")).to_be_focused()
    send(b, "psst, a direct one", panel=direct)
    entry = a.page.locator("#conversation-list").get_by_role("button", name=re.compile("^Bob Baker"))
    expect(entry.locator(".unread-badge")).to_have_text("1")
    expect(entry.locator(".conversation-last")).to_have_text("Bob: psst, a direct one")
    entry.click()
    expect(user_messages(a.page.locator("#conversation-slot .panel"), "psst, a direct one")).to_have_count(1)
    expect(entry.locator(".unread-badge")).to_have_count(0)


def test_full_space_says_why_in_a_toast(open_office, alice, bob, focus_pod):
    a = open_office(alice)
    b = open_office(bob)
    b.allow("409")  # the browser logs the refused request; the page turns it into a toast
    enter(a, focus_pod)
    expect(space_of(b, focus_pod).locator("[data-role=count]")).to_have_text("1")
    # Keyboard users reach a space's button and press Enter.
    space_of(b, focus_pod).locator("[data-role=enter]").focus()
    b.page.keyboard.press("Enter")
    expect(b.page.locator(".toast-error")).to_contain_text("Focus pod is full")
    expect(space_of(b, focus_pod).locator(f'.avatar[data-user="{bob.id}"]')).to_have_count(0)


def test_presence_selector_updates_everyone(open_office, alice, bob):
    a = open_office(alice)
    b = open_office(bob)
    a.page.select_option("#presence-select", "busy")
    expect(b.page.locator(f'#wanderers .person[data-person="{alice.id}"] [data-role=status]')).to_have_text("Busy")
    expect(b.page.locator(f'.avatar[data-user="{alice.id}"]')).to_have_class(re.compile("status-busy"))
    a.page.reload()
    expect(a.page.locator("#presence-select")).to_have_value("busy")


def test_slow_socket_shows_pending_then_confirmed_once(open_office, alice, bob, lounge):
    valve = SocketValve()
    a = open_office(alice, route=valve)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    valve.hold_actions.add("message.send")
    send(a, "sent on a slow line")
    pending = room_panel(a).locator(".message.is-pending", has_text="sent on a slow line")
    expect(pending).to_have_count(1)
    expect(pending.locator("[data-role=state]")).to_have_text("Sending…")
    time.sleep(0.5)
    expect(user_messages(room_panel(b), "sent on a slow line")).to_have_count(0)
    valve.release()
    expect(room_panel(a).locator(".message.is-pending")).to_have_count(0)
    expect(user_messages(room_panel(a), "sent on a slow line")).to_have_count(1)
    expect(user_messages(room_panel(b), "sent on a slow line")).to_have_count(1)
    time.sleep(0.5)  # the ack and the event both came: still exactly one
    expect(user_messages(room_panel(a), "sent on a slow line")).to_have_count(1)
    assert room_panel(a).locator(".message:not(.system)").last.get_attribute("data-id")


def test_a_lost_event_is_noticed_and_fetched_again(open_office, alice, bob, lounge):
    valve = SocketValve()
    a = open_office(alice, route=valve)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    valve.drop_types["message.created"] = 1
    send(b, "lost on the way")
    expect(room_panel(b).locator(".message.is-pending")).to_have_count(0)
    a.page.wait_for_timeout(300)
    assert len(valve.dropped) == 1
    expect(user_messages(room_panel(a), "lost on the way")).to_have_count(0)
    send(b, "the next one")  # its rev is one too far ahead: A resumes from what it has
    expect(user_messages(room_panel(a), "lost on the way")).to_have_count(1)
    expect(user_messages(room_panel(a), "the next one")).to_have_count(1)
    bodies = room_panel(a).locator(".message:not(.system) .message-body").all_text_contents()
    assert bodies == ["lost on the way", "the next one"]
    assert a.page.evaluate("() => window.office.socket.stats.gaps") >= 1


def test_a_text_over_the_limit_is_refused_before_sending_and_kept(open_office, alice, bob, lounge):
    """A retry could never succeed, so nothing is sent and no Retry is offered: the composer says
    the limit and keeps the text to shorten."""
    a = open_office(alice)
    enter(a, lounge)
    panel = room_panel(a)
    send(a, "x" * 10_001)
    expect(panel.locator("[data-role=attach-error]")).to_have_text(
        "A message can hold at most 10,000 characters; this one has 10,001."
    )
    expect(panel.locator("textarea")).to_have_value("x" * 10_001)
    expect(panel.locator(".message.is-failed, .message.is-pending")).to_have_count(0)
    panel.locator("textarea").fill("x" * 10_000)
    panel.locator("textarea").press("Enter")
    expect(panel.locator(".message.is-own:not(.is-pending)")).to_have_count(1)
    expect(panel.locator("[data-role=attach-error]")).to_be_hidden()


def test_messages_sent_while_the_network_is_down_appear_once(open_office, alice, bob, lounge):
    valve = SocketValve()
    a = open_office(alice, route=valve)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    send(b, "before the cut")
    expect(user_messages(room_panel(a), "before the cut")).to_have_count(1)

    valve.disconnect()
    expect(a.page.locator("#connection-banner")).to_have_text("Reconnecting…")
    send(a, "typed while offline")
    expect(room_panel(a).locator(".message.is-pending", has_text="typed while offline")).to_have_count(1)
    for n in range(3):
        send(b, f"while you were away {n}")
    expect(user_messages(room_panel(b), "while you were away 2")).to_have_count(1)
    expect(room_panel(b).locator(".message.is-pending")).to_have_count(0)  # all three are stored

    valve.restore()
    a.page.evaluate("() => window.dispatchEvent(new Event('online'))")  # what the browser says when the network is back
    expect(a.page.locator("#connection-banner")).to_be_hidden(timeout=10_000)
    for n in range(3):
        expect(user_messages(room_panel(a), f"while you were away {n}")).to_have_count(1)
    expect(user_messages(room_panel(a), "typed while offline")).to_have_count(1)
    expect(room_panel(a).locator(".message.is-pending")).to_have_count(0)
    expect(user_messages(room_panel(b), "typed while offline")).to_have_count(1)
    expect(user_messages(room_panel(a), "before the cut")).to_have_count(1)
    # In the server's order, each once.
    bodies = room_panel(a).locator(".message:not(.system) .message-body").all_text_contents()
    assert bodies.count("typed while offline") == 1
    assert bodies[:4] == ["before the cut", "while you were away 0", "while you were away 1", "while you were away 2"]


def test_history_loads_upwards_without_duplicates(open_office, alice, bob):
    group = group_with(alice, bob, title="Book club")
    for n in range(70):
        post(group, bob if n % 2 else alice, f"history {n:02d}")
    b = open_office(bob)
    b.page.locator("#conversation-list .conversation", has_text="Book club").click()
    panel = b.page.locator("#conversation-slot .panel")
    expect(user_messages(panel, "history 69")).to_have_count(1)
    expect(panel.locator(".message")).to_have_count(30)
    for _ in range(5):
        panel.locator("[data-role=scroller]").evaluate("el => el.scrollTop = 0")
        b.page.wait_for_timeout(300)
        if panel.locator(".message").count() == 70:
            break
    expect(panel.locator(".message")).to_have_count(70)
    expect(panel.locator("[data-role=history]")).to_have_text("This is the beginning of the conversation.")
    bodies = panel.locator(".message-body").all_text_contents()
    assert bodies == [f"history {n:02d}" for n in range(70)]


def test_a_new_person_in_the_company_does_not_break_the_page(open_office, alice, company, lounge):
    # Someone who joined after the page was rendered enters a space: the page must not throw.
    a = open_office(alice)
    newcomer = UserFactory(company=company, username="newbie", display_name="Nina New")
    from spaces import services as space_services

    space_services.space_enter(actor=newcomer, space=lounge)
    avatar = space_of(a, lounge).locator(f'.avatar[data-user="{newcomer.id}"]')
    expect(avatar.locator(".initials")).to_have_text("NN")
    expect(avatar).to_have_accessible_name("Nina New (Offline)")
    expect(space_of(a, lounge).locator("[data-role=count]")).to_have_text("1")


def test_attachments_upload_and_the_room_panel_remembers_being_collapsed(open_office, alice, bob, lounge):
    a = open_office(alice)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    room_panel(a).locator("input[type=file]").set_input_files(
        [{"name": "agenda.txt", "mimeType": "text/plain", "buffer": b"1. coffee\n2. launch\n"}]
    )
    expect(room_panel(a).locator("[data-role=attach-bar]")).to_contain_text("agenda.txt")
    send(a, "today's agenda")
    expect(room_panel(a).locator(".message.is-pending")).to_have_count(0)
    for office in (a, b):
        link = room_panel(office).locator(".message-attachments a", has_text="agenda.txt")
        expect(link).to_have_count(1)
        assert link.get_attribute("href").startswith(("http://", "https://"))
        assert "/api/v1/attachments/" in link.get_attribute("href")
    href = room_panel(b).locator(".message-attachments a").get_attribute("href")
    assert b.page.request.get(href).text() == "1. coffee\n2. launch\n"

    # Collapsing the room panel is remembered across reloads; new messages then show as unread.
    room_panel(b).locator("[data-role=toggle]").click()
    expect(room_panel(b).locator("[data-role=toggle]")).to_have_attribute("aria-expanded", "false")
    b.page.reload()
    b.wait_connected()
    expect(room_panel(b).locator("[data-role=toggle]")).to_have_attribute("aria-expanded", "false")
    expect(room_panel(b).locator(".panel-body")).to_be_hidden()
    send(a, "anyone there?")
    expect(room_panel(b).locator("[data-role=unread]")).to_have_text("1")
    room_panel(b).locator("[data-role=toggle]").click()
    expect(user_messages(room_panel(b), "anyone there?")).to_have_count(1)
    expect(room_panel(b).locator("[data-role=unread]")).to_be_hidden()


def test_meetings_and_groups_from_the_page(open_office, alice, bob, carol, lounge):
    a = open_office(alice)
    b = open_office(bob)
    enter(a, lounge)
    room_panel(a).locator("[data-role=meeting]").click()
    room_panel(a).locator("[data-role=meeting-title]").fill("Daily standup")
    room_panel(a).locator("[data-role=meeting-title]").press("Enter")
    expect(space_of(b, lounge).locator("[data-role=meeting-title]")).to_have_text("Daily standup")
    expect(space_of(b, lounge).locator("[data-role=status]")).to_have_text("In use")
    expect(room_panel(a).locator(".message.system", has_text="started the meeting")).to_have_count(1)
    expect(room_panel(a).locator("[data-role=meeting]")).to_have_text("End meeting")
    room_panel(a).locator("[data-role=meeting]").click()
    expect(space_of(b, lounge).locator("[data-role=meeting]")).to_be_hidden()
    expect(space_of(b, lounge).locator("[data-role=status]")).to_have_text("Available")
    expect(room_panel(a).locator(".message.system", has_text="ended the meeting")).to_have_count(1)

    b.page.locator("#new-group-toggle").click()
    b.page.locator("#new-group-title").fill("Design crit")
    b.page.locator(f'#new-group-form input[value="{alice.id}"]').check()
    b.page.locator(f'#new-group-form input[value="{carol.id}"]').check()
    b.page.locator("#new-group-form button[type=submit]").click()
    group = b.page.locator("#conversation-slot .panel")
    expect(group.locator("[data-role=title]")).to_have_text("Design crit")
    send(b, "first draft is up", panel=group)
    entry = a.page.locator("#conversation-list").get_by_role("button", name=re.compile("^Design crit"))
    expect(entry.locator(".unread-badge")).to_have_text("1")


def test_the_page_runs_under_its_strict_content_security_policy(open_office, live_server_url, alice, bob, lounge):
    """No inline scripts, handlers or styles: the page works with script-src and style-src 'self'."""
    a = open_office(alice)
    b = open_office(bob)
    policy = a.page.request.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    enter(a, lounge)
    enter(b, lounge)
    send(a, "all within the policy")
    expect(user_messages(room_panel(b), "all within the policy")).to_have_count(1)
    space_of(b, lounge).locator(f'.avatar[data-user="{alice.id}"]').click()
    expect(b.page.locator("#avatar-menu [role=menu]")).to_be_visible()
    for office in (a, b):
        assert office.page.evaluate("() => window.__csp") == []
        # The avatar colours are set through the CSSOM, which the policy allows.
        colour = office.page.locator(f'.avatar[data-user="{bob.id}"]').first.evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert colour not in ("rgba(0, 0, 0, 0)", "rgb(107, 114, 133)")
