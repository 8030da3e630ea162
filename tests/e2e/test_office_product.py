"""The office page as a product: what a person sees in the cases that used to go wrong (no company,
missing favicon, offline people in the side list, long links, the hover toolbar, the avatar menu,
refused attachments, the watchers' label)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import session_cookie
from tests.e2e.steps import enter, room_panel, send_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_page(browser, base_url: str, user):
    context = browser.new_context(base_url=base_url)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": base_url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return context, page, errors


def test_a_superuser_without_a_company_is_pointed_to_the_admin(browser, live_server_url, db):
    root = UserFactory(company=None, username="root", display_name="", is_staff=True, is_superuser=True)
    context, page, errors = signed_in_page(browser, live_server_url, root)
    page.goto("/")
    expect(page.get_by_role("heading", name="No office for this account")).to_be_visible()
    expect(page.get_by_text("not a member of any company")).to_be_visible()
    admin = page.get_by_role("link", name="Open the admin")
    expect(admin).to_have_attribute("href", "/admin/")
    # No false "signed out" banner: the page opens no socket at all.
    expect(page.get_by_text("signed out")).to_have_count(0)
    admin.click()
    expect(page).to_have_url(f"{live_server_url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    context.close()
    assert errors == []


def test_the_admin_and_the_site_have_a_favicon(browser, live_server_url, alice):
    context, page, errors = signed_in_page(browser, live_server_url, alice)
    failed: list[str] = []
    page.on("response", lambda response: response.status >= 400 and failed.append(f"{response.status} {response.url}"))
    for path in ("/admin/login/", "/"):
        page.goto(path)
        icons = page.locator("link[rel=icon]")
        expect(icons.first).to_be_attached()
        for href in icons.evaluate_all("links => links.map((link) => link.href)"):
            answer = page.request.get(href)
            assert answer.status == 200, href
            assert answer.headers["content-type"].startswith("image/"), href
    favicon = page.request.get("/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert favicon.body()[:4] == b"\x00\x00\x01\x00"  # an icon file, not an error page
    assert failed == []
    context.close()
    assert [e for e in errors if "/ws/" not in e] == []


def test_around_the_office_lists_only_people_online(open_office, alice, bob, carol):
    """Bob never opened the office: he is not "around". Carol is, until she closes her page."""
    a = open_office(alice)
    c = open_office(carol)
    around = a.page.locator("#wanderers")
    expect(around.locator(f'.person[data-person="{carol.id}"]')).to_be_visible()
    expect(around.locator(f'.person[data-person="{alice.id}"]')).to_be_visible()
    expect(around.locator(f'.person[data-person="{bob.id}"]')).to_have_count(0)
    expect(a.page.locator("#wanderer-count")).to_have_text("2")
    # Carol closes her tab: once the server's grace period is over she is offline, and gone from the list.
    c.context.close()
    expect(around.locator(f'.person[data-person="{carol.id}"]')).to_have_count(0, timeout=20_000)
    expect(a.page.locator("#wanderer-count")).to_have_text("1")
    # Bob opens the office: he appears, in name order, for Alice.
    open_office(bob)
    expect(around.locator(".person-name")).to_have_text(["Alice Archer", "Bob Baker"])
    a.page.reload()
    a.wait_connected()
    expect(around.locator(".person-name")).to_have_text(["Alice Archer", "Bob Baker"])


def send(office, text: str, panel=None) -> None:
    send_in(panel if panel is not None else room_panel(office), text)


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    )


def test_long_links_wrap_and_the_hover_toolbar_leaves_the_time_visible(open_office, alice, bob, lounge):
    a = open_office(alice)
    b = open_office(bob)
    enter(a, lounge)
    enter(b, lounge)
    url = "https://docs.example.com/" + "very-long-path-segment/" * 20 + "?q=" + "x" * 120
    name = "quarterly-report-" + "draft" * 30 + ".txt"
    attachment = {"name": name, "mimeType": "text/plain", "buffer": b"hi"}
    room_panel(a).locator("input[type=file]").set_input_files([attachment])
    send(a, f"the spec: {url} (see section 4)")
    for office in (a, b):
        message = room_panel(office).locator(".message:not(.system)", has=office.page.locator(f'a[href="{url}"]'))
        expect(message).to_have_count(1)
        expect(message.locator(".message-attachments a", has_text="quarterly-report")).to_be_visible()
        scroller = room_panel(office).locator("[data-role=scroller]")
        # Nothing sticks out: the link and the file name wrap inside the panel; neither the panel
        # nor the page scrolls sideways.
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
        right = scroller.bounding_box()["x"] + scroller.bounding_box()["width"] + 0.5
        for part in (message.locator(f'a[href="{url}"]'), message.locator(".message-attachments a")):
            box = part.bounding_box()
            assert box["x"] + box["width"] <= right
        assert message.locator(f'a[href="{url}"]').bounding_box()["height"] > 40  # on several lines
        assert office.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    # Hovering my message shows all its actions (react, reply, edit, delete); its time stays readable.
    mine = room_panel(a).locator(".message:not(.system)", has=a.page.locator(f'a[href="{url}"]'))
    send(a, "ok")
    ok = a.page.locator(".message-body", has_text=re.compile("^ok$"))
    second = room_panel(a).locator(".message:not(.system)", has=ok)
    expect(second).to_have_count(1)
    for width in (1280, 1000, 600):
        a.page.set_viewport_size({"width": width, "height": 860})
        for message in (mine, second):  # the second of a run shows its time only on hover
            message.hover()
            toolbar = message.locator(".message-actions")
            expect(toolbar.locator("[data-act=delete]")).to_be_visible()
            time = message.locator(".message-time")
            expect(time).to_be_visible()
            assert not boxes_overlap(toolbar.bounding_box(), time.bounding_box()), width
            author = message.locator(".message-author")
            if author.is_visible():
                assert not boxes_overlap(toolbar.bounding_box(), author.bounding_box()), width


def test_who_is_here_now_stays_current(open_office, alice, bob, carol, lounge):
    a = open_office(alice)
    b = open_office(bob)
    c = open_office(carol)
    enter(a, lounge)
    enter(b, lounge)
    watchers = room_panel(a).locator("[data-role=watchers]")
    expect(room_panel(a).get_by_role("img", name="Here now: Bob Baker", exact=True)).to_be_visible()
    enter(c, lounge)
    both = re.compile(r"^Here now: (Bob Baker, Carol Clark|Carol Clark, Bob Baker)$")
    expect(watchers).to_have_attribute("aria-label", both)
    expect(watchers).to_have_attribute("title", watchers.get_attribute("aria-label"))
    # Bob folds the room chat away: he no longer has it open.
    room_panel(b).locator("[data-role=toggle]").click()
    expect(room_panel(a).get_by_role("img", name="Here now: Carol Clark", exact=True)).to_be_visible()
    # Carol walks out: nobody else has it open, and nothing claims otherwise.
    room_panel(c).locator("[data-role=leave]").click()
    expect(watchers).to_be_hidden()
    expect(watchers).not_to_have_attribute("aria-label", re.compile("."))
    expect(room_panel(a).get_by_role("img", name=re.compile("Here now"))).to_have_count(0)


def test_attachments_the_server_would_refuse_are_refused_before_uploading(open_office, alice, lounge):
    from django.conf import settings

    a = open_office(alice)
    a.allow("415")  # the browser logs the one refusal the page cannot foresee (below)
    enter(a, lounge)
    uploads: list[str] = []
    a.page.on("request", lambda r: r.method == "POST" and "/messages/" in r.url and uploads.append(r.url))
    panel = room_panel(a)
    picker = panel.locator("input[type=file]")
    assert ".png" in picker.get_attribute("accept") and "application/pdf" in picker.get_attribute("accept")
    allowed = "PNG, JPG, GIF, WEBP, PDF, TXT, CSV, ZIP or JSON"
    assert len(settings.ATTACHMENT_ALLOWED_TYPES) == 9 and settings.ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024

    # A type that is not allowed: refused at once, saying what is, and never added.
    picker.set_input_files([
        {"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"},
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"fine"},
    ])
    alert = panel.get_by_role("alert")
    expect(alert).to_have_text(f"setup.exe can't be attached: only {allowed} files are allowed.")
    expect(panel.locator("[data-role=attach-bar]")).to_contain_text("notes.txt")
    expect(panel.locator("[data-role=attach-bar]")).not_to_contain_text("setup.exe")

    # Too big: refused with both sizes.
    big = b"%" * (10 * 1024 * 1024 + 200 * 1024)
    picker.set_input_files([{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": big}])
    expect(alert).to_have_text("scan.pdf is too big (10.2 MB): files can be at most 10 MB.")
    expect(panel.locator("[data-role=attach-bar] li")).to_have_count(1)
    send(a, "with the notes")
    expect(alert).to_be_hidden()
    expect(panel.locator(".message-attachments a", has_text="notes.txt")).to_be_visible()
    assert len(uploads) == 1

    # One the server refuses for good (its name says HTML): not sent, and no Retry that would fail again.
    picker.set_input_files([{"name": "page.html.txt.html", "mimeType": "text/plain", "buffer": b"<p>hi</p>"}])
    send(a, "a page")
    failed = panel.locator(".message.is-failed")
    expect(failed.locator("[data-role=state]")).to_contain_text("Not sent: Files of type text/html cannot be attached.")
    expect(failed.locator("[data-act=discard]")).to_be_visible()
    expect(failed.locator("[data-act=retry]")).to_have_count(0)
    failed.locator("[data-act=discard]").click()
    expect(panel.locator(".message.is-failed")).to_have_count(0)


def test_the_avatar_menu_offers_only_what_works_now(open_office, alice, bob, carol, lounge):
    from calling import services as calling_services

    a = open_office(alice)
    b = open_office(bob)
    c = open_office(carol)
    menu = a.page.locator("#avatar-menu")
    items = menu.locator("[role=menuitem]")

    def open_menu(office, person) -> None:
        office.page.locator(f'.avatar[data-user="{person.id}"]').first.click()
        expect(office.page.locator("#avatar-menu [role=menu]")).to_be_visible()

    def refusal(office, action: str):
        return office.page.locator(f'#avatar-menu .menu-refusal[data-refused="{action}"]')

    call = calling_services.call_create(actor=bob, callee_id=carol.id, kind="voice")
    expect(c.page.locator(".toast.call-incoming")).to_be_visible()
    # Bob is ringing Carol: nobody is offered to call either of them, and the menu says why.
    enter(a, lounge)
    open_menu(a, bob)
    expect(items).to_have_text(["Send message", "Invite to my space"])
    expect(refusal(a, "voice").locator(".menu-refused")).to_have_text("Call")
    expect(refusal(a, "voice").locator(".menu-reason")).to_have_text("Bob is in a call")
    a.page.keyboard.press("Escape")
    open_menu(b, alice)
    expect(refusal(b, "voice").locator(".menu-reason")).to_have_text("You are already in a call")
    b.page.keyboard.press("Escape")

    # Carol declines: calling Bob works again.
    c.page.locator(".toast.call-incoming").get_by_role("button", name="Decline").click()
    expect(c.page.locator(".toast.call-incoming")).to_have_count(0)
    deadline = time.monotonic() + 10
    while (call.refresh_from_db() or call.state) != "declined":
        assert time.monotonic() < deadline, "the decline never reached the server"
        time.sleep(0.05)
    open_menu(a, bob)
    expect(items).to_have_text(["Send message", "Voice call", "Video call", "Invite to my space"])
    expect(menu.locator(".menu-refusal")).to_have_count(0)
    a.page.keyboard.press("Escape")

    # Carol turns on do not disturb: a message only, and why.
    c.page.select_option("#presence-select", "dnd")
    expect(a.page.locator(f'.avatar[data-user="{carol.id}"]').first).to_have_class(re.compile("status-dnd"))
    open_menu(a, carol)
    expect(items).to_have_text(["Send message"])
    expect(menu.locator(".menu-refusal .menu-refused")).to_have_text("Call, Invite to my space")
    expect(menu.locator(".menu-refusal .menu-reason")).to_have_text("Carol is on do not disturb")
