"""The company console in a real browser against a real server: inviting someone who then signs up
and lands in the office, the floor editor moving a space live on another page, and deactivation
closing the deactivated person's open office page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spaces.models import Space
from tests.e2e.conftest import session_cookie
from virtual_office.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_page(browser, live_server_url):
    """`console_page(user)`: a signed-in page on /manage/ that fails the test on any console error or
    Content-Security-Policy violation."""
    opened = []

    def open_console(user, path: str = "/manage/"):
        context = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 900})
        if user is not None:
            context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": live_server_url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.goto(path)
        opened.append((context, errors))
        return page

    yield open_console
    problems = [errors for context, errors in opened if errors]
    for context, _ in opened:
        context.close()
    assert not problems, problems


def test_an_admin_invites_and_the_invitee_signs_up_into_the_office(console_page, admin_user, lounge):
    admin = console_page(admin_user)
    expect(admin).to_have_url(re.compile(r"/manage/people/$"))
    admin.fill("#id_email", "zoe@example.com")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.locator(".console-message-success")).to_contain_text("Invitation sent to zoe@example.com")
    link = admin.locator("#new-invitation-url").input_value()
    assert "/accounts/invite/" in link
    expect(admin.locator("#invitations")).to_contain_text("zoe@example.com")

    invitee = console_page(None, link)
    expect(invitee.locator("h1")).to_have_text("Join Acme")
    invitee.fill("#id_display_name", "Zoe Zimmer")
    invitee.fill("#id_username", "zoe")
    invitee.fill("#id_password1", "short")
    invitee.fill("#id_password2", "short")
    invitee.get_by_role("button", name="Join Acme").click()
    expect(invitee.locator("#password1-errors")).to_contain_text("too short")
    invitee.fill("#id_password1", "a long pass phrase")
    invitee.fill("#id_password2", "a long pass phrase")
    invitee.get_by_role("button", name="Join Acme").click()
    expect(invitee).to_have_url(re.compile(r"/$"))
    expect(invitee.locator(".me-name")).to_have_text("Zoe Zimmer")
    invitee.wait_for_function("() => window.office && window.office.socket.state === 'open'")
    expect(invitee.locator(f'.space[data-space="{lounge.id}"]')).to_be_visible()
    assert User.objects.get(username="zoe").company_id == admin_user.company_id

    # The link worked once: opened again, it says so.
    again = console_page(None, link)
    expect(again.locator("h1")).to_have_text("This invitation was used already")


def test_the_floor_editor_moves_a_space_and_the_office_floor_sees_it(
    console_page, open_office, admin_user, alice, lounge, kitchen
):
    office = open_office(alice)
    on_floor = office.page.locator(f'.space[data-space="{lounge.id}"]')
    expect(on_floor).to_have_attribute("data-x", "20")

    editor = console_page(admin_user, "/manage/spaces/")
    box = editor.locator(f'.floor-editor-space[data-space="{lounge.id}"]')
    expect(box).to_have_attribute("data-x", "20")
    start = box.bounding_box()
    editor.mouse.move(start["x"] + 40, start["y"] + 40)
    editor.mouse.down()
    editor.mouse.move(start["x"] + 100, start["y"] + 120, steps=6)
    editor.mouse.move(start["x"] + 104, start["y"] + 236, steps=6)  # 64, 196: snapped to 60, 200
    editor.mouse.up()
    expect(editor.locator("#floor-editor-status")).to_have_text("Lounge saved.")
    expect(box).to_have_attribute("data-x", "80")
    expect(box).to_have_attribute("data-y", "220")
    lounge.refresh_from_db()
    assert (lounge.x, lounge.y) == (80, 220)
    # Live on the office floor, without a reload.
    expect(on_floor).to_have_attribute("data-x", "80")
    expect(on_floor).to_have_attribute("data-y", "220")

    # Resizing by the corner handle, then by the keyboard.
    handle = editor.locator(f'.floor-editor-space[data-space="{kitchen.id}"] .floor-editor-handle')
    corner = handle.bounding_box()
    editor.mouse.move(corner["x"] + 8, corner["y"] + 8)
    editor.mouse.down()
    editor.mouse.move(corner["x"] + 58, corner["y"] + 28, steps=6)
    editor.mouse.up()
    expect(office.page.locator(f'.space[data-space="{kitchen.id}"]')).to_have_attribute("data-w", "270")
    kitchen_box = editor.locator(f'.floor-editor-space[data-space="{kitchen.id}"]')
    kitchen_box.focus()
    kitchen_box.press("ArrowRight")
    expect(office.page.locator(f'.space[data-space="{kitchen.id}"]')).to_have_attribute("data-x", "370")
    assert Space.objects.get(pk=kitchen.pk).w == 270


def test_deactivation_closes_the_persons_open_office_page(console_page, open_office, admin_user, alice):
    office = open_office(alice)
    admin = console_page(admin_user, "/manage/people/")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.locator(f'tr[data-person="{alice.id}"] [data-act=deactivate]').click()
    expect(admin.locator(".console-message-success")).to_contain_text("deactivated")
    expect(office.page.locator("#connection-banner")).to_have_text(
        "You have been signed out. Reload the page to sign in again.", timeout=5000
    )
    office.page.wait_for_function("() => window.office.socket.state === 'closed'")
    office.page.reload()
    expect(office.page).to_have_url(re.compile(r"/accounts/login/"))
