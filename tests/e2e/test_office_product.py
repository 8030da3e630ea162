"""The office page as a product: what a person sees in the cases that used to go wrong (no company,
missing favicon, offline people in the side list, long links, the hover toolbar, the avatar menu,
refused attachments, the watchers' label)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import session_cookie
from tests.factories import SpaceFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lounge(company):
    return SpaceFactory(company=company, name="Lounge", kind="lounge", capacity=6, x=20, y=20, w=320, h=180)


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
