"""Search in a real browser: the header's box finds a message (its snippet marked) and opens its
conversation at it, also when it is older than the page the conversation first loads; Ctrl+K opens
the quick switcher, which filters as you type and opens a conversation with the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import axe_violations, describe, serious
from tests.factories import group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_search_box_finds_a_message_and_opens_it(open_office, alice, bob, lounge):
    crew = group_with(alice, bob, title="Launch crew")
    post(crew, bob, "The <b>quarterly</b> pineapple report is ready")
    # Enough later messages that the found one is not on the first page the conversation loads.
    for i in range(45):
        post(crew, bob, f"filler message {i}")
    office = open_office(alice)
    page = office.page
    page.fill("#search-input", "pineapple")
    results = page.locator("#search-results")
    expect(results).to_be_visible()
    hit = results.locator(".search-messages .search-result").first
    expect(hit).to_contain_text("Bob Baker in Launch crew")
    # The match is marked; the markup typed in the message is shown as text, not applied.
    expect(hit.locator("mark")).to_have_text("pineapple")
    expect(hit.locator(".search-snippet")).to_contain_text("<b>quarterly</b>")
    assert hit.locator(".search-snippet b").count() == 0
    # Keyboard: down into the results, Enter opens the conversation at that message.
    page.focus("#search-input")
    page.keyboard.press("ArrowDown")
    expect(hit).to_be_focused()
    page.keyboard.press("Enter")
    expect(results).to_be_hidden()
    panel = page.locator(f'.panel[data-conversation="{crew.id}"]')
    found = panel.locator(".message.is-found .message-body")
    expect(found).to_contain_text("pineapple report")
    expect(found).to_be_in_viewport()


def test_escape_closes_the_results_and_a_search_finds_people_and_spaces(open_office, alice, bob, lounge):
    office = open_office(alice)
    page = office.page
    page.fill("#search-input", "lounge")
    results = page.locator("#search-results")
    expect(results.locator(".search-spaces .search-result")).to_contain_text("Lounge")
    problems = serious(axe_violations(page, context="#search"))
    assert not problems, describe(problems)
    page.keyboard.press("Escape")
    expect(results).to_be_hidden()
    expect(page.locator("#search-input")).to_be_focused()
    page.fill("#search-input", "nothing like it anywhere")
    expect(results).to_contain_text("Nothing found")


def test_ctrl_k_switcher_opens_a_conversation(open_office, alice, bob, carol, lounge):
    design = group_with(alice, carol, title="Design review")
    group_with(alice, bob, title="Deploy crew")
    office = open_office(alice)
    page = office.page
    expect(page.locator("#conversation-list")).to_contain_text("Design review")
    page.locator("#floor-heading").click()
    page.keyboard.press("Control+k")
    dialog = page.locator("#switcher")
    expect(dialog).to_be_visible()
    expect(page.locator("#switcher-input")).to_be_focused()
    page.keyboard.type("de")
    options = page.locator("#switcher-list [role=option]")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(options).to_contain_text(["Deploy crew", "Design review"])
    problems = serious(axe_violations(page, context="#switcher"))
    assert not problems, describe(problems)
    page.keyboard.type("sign")
    expect(options).to_have_count(1)
    expect(page.locator("#switcher-input")).to_have_attribute("aria-activedescendant", "switcher-option-0")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator(f'.panel[data-conversation="{design.id}"]')).to_be_visible()
    # Escape closes it, and the focus goes back where it was.
    page.locator("#search-input").focus()
    page.keyboard.press("Meta+k")
    expect(dialog).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#search-input")).to_be_focused()


def test_switcher_shows_a_space_and_opens_a_persons_direct_conversation(open_office, alice, bob, lounge):
    office = open_office(alice)
    page = office.page
    page.keyboard.press("Control+k")
    page.keyboard.type("loun")
    page.keyboard.press("Enter")
    space = page.locator(f'.space[data-space="{lounge.id}"]')
    expect(space).to_have_class(re.compile(r"\bis-found\b"))
    expect(space.locator(".space-enter")).to_be_focused()
    page.keyboard.press("Control+k")
    page.keyboard.type("bob")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator(".panel.panel-direct [data-role=title]")).to_have_text("Bob Baker")
