"""Dark mode: the pages follow the system's colour scheme, and the office's toggle overrides it (kept
in localStorage, for every page of the site, until the person picks what the system prefers again)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOGGLE = "button[data-theme-toggle]"


def background_luminance(page, selector: str = "body") -> float:
    """Relative luminance (0 black .. 1 white) of an element's computed background colour."""
    return page.locator(selector).first.evaluate(
        """(el) => {
            const [r, g, b] = getComputedStyle(el).backgroundColor.match(/[\\d.]+/g).map(Number);
            const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
            return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        }"""
    )


def looks_dark(page) -> None:
    page.wait_for_function("() => getComputedStyle(document.body).colorScheme === 'dark'")
    assert background_luminance(page) < 0.02
    assert background_luminance(page, ".topbar, .login-card") < 0.03


def looks_light(page) -> None:
    page.wait_for_function("() => getComputedStyle(document.body).colorScheme === 'light'")
    assert background_luminance(page) > 0.8
    assert background_luminance(page, ".topbar, .login-card") > 0.9


def test_the_office_follows_the_system_colour_scheme(open_office, alice):
    office = open_office(alice)
    page = office.page
    page.emulate_media(color_scheme="dark")
    looks_dark(page)
    expect(page.locator(TOGGLE)).to_have_attribute("aria-pressed", "true")
    # Text stays readable on the dark surfaces: light text, light links.
    assert page.locator(".me-name").evaluate("el => getComputedStyle(el).color") == "rgb(231, 234, 243)"
    page.emulate_media(color_scheme="light")
    looks_light(page)
    expect(page.locator(TOGGLE)).to_have_attribute("aria-pressed", "false")


def test_the_toggle_switches_and_is_remembered(open_office, alice, live_server_url):
    office = open_office(alice)
    page = office.page
    page.emulate_media(color_scheme="light")
    looks_light(page)
    toggle = page.get_by_role("button", name="Dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    looks_dark(page)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => localStorage.getItem('vo.theme')") == "dark"
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")

    # Remembered: after a reload, and on the other pages of the site (here the sign-in page).
    page.reload()
    office.wait_connected()
    looks_dark(page)
    other = office.context.new_page()
    other.emulate_media(color_scheme="light")
    other.goto(f"{live_server_url}/accounts/login/")
    expect(other.locator(".login-card")).to_be_visible()
    looks_dark(other)
    other.close()

    # Switching back to what the system prefers follows the system again.
    page.get_by_role("button", name="Dark mode").click()
    looks_light(page)
    assert page.evaluate("() => localStorage.getItem('vo.theme')") is None
    page.emulate_media(color_scheme="dark")
    looks_dark(page)

    # A choice against the system's preference wins over it.
    page.get_by_role("button", name="Dark mode").click()
    looks_light(page)
    assert page.evaluate("() => localStorage.getItem('vo.theme')") == "light"
    expect(page.locator("html")).to_have_attribute("data-theme", re.compile("^light$"))
