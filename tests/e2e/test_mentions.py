"""Mentions, Markdown and the composer's tools in a real browser: "@" offers the conversation's
people first, the keyboard picks one, the person mentioned sees it highlighted as theirs; the
emoji picker and the formatting help work from the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import axe_violations, describe, serious
from tests.factories import UserFactory, group_with

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_conversation(office, conversation):
    office.page.locator(f'#conversation-list [data-open="{conversation.id}"]').click()
    panel = office.page.locator(f'#conversation-slot .panel[data-conversation="{conversation.id}"]')
    expect(panel.locator("[data-role=history]")).not_to_have_text("")
    return panel


def test_mention_with_autocomplete_reaches_the_person_highlighted(open_office, alice, bob, carol, company):
    UserFactory(company=company, username="bea", display_name="Beatrice Cole")  # not in the conversation
    chat = group_with(alice, bob, carol, title="Launch")
    a = open_office(alice)
    b = open_office(bob)
    panel = open_conversation(a, chat)
    bobs = open_conversation(b, chat)
    box = panel.locator("textarea[data-role=input]")
    expect(box).to_have_attribute("role", "combobox")
    box.press_sequentially("ship it @b", delay=20)
    listbox = panel.locator("[role=listbox]")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.locator("[role=option]")
    # The conversation's people come first: bob (a participant) before bea (not one).
    expect(options.first).to_contain_text("@bob")
    expect(options.nth(1)).to_contain_text("@bea")
    expect(options.first).to_have_attribute("aria-selected", "true")
    problems = serious(axe_violations(a.page, context="#conversation-slot"))
    assert not problems, describe(problems)
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", re.compile(r"-1$"))
    box.press("ArrowUp")
    box.press("Escape")  # closes the list, keeps the text
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("ship it @b")
    box.press_sequentially("o", delay=20)
    expect(options.first).to_contain_text("@bob")
    box.press("Enter")  # picks, does not send
    expect(box).to_have_value("ship it @bob ")
    expect(listbox).to_be_hidden()
    box.press_sequentially("**today**", delay=10)
    box.press("Enter")

    sent = panel.locator(".message:not(.system)").last
    expect(sent.locator(".message-body strong")).to_have_text("today")
    expect(sent.locator(f'.mention[data-user="{bob.id}"]')).to_have_text("@bob")
    expect(sent.locator(".mention.is-me")).to_have_count(0)  # alice's view: not her

    seen = bobs.locator(".message:not(.system)").last
    expect(seen).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(seen.locator(f'.mention.is-me[data-user="{bob.id}"]')).to_have_text("@bob")
    expect(seen.locator(".message-body")).to_have_text("ship it @bob today")


def test_emoji_picker_and_formatting_help_by_keyboard(open_office, alice, bob):
    chat = group_with(alice, bob, title="Pair")
    a = open_office(alice)
    panel = open_conversation(a, chat)
    box = panel.locator("textarea[data-role=input]")
    box.fill("nice ")
    toggle = panel.locator("[data-role=emoji-toggle]")
    toggle.focus()
    toggle.press("Enter")
    picker = panel.locator(".emoji-picker")
    expect(picker).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    first = picker.locator(".emoji-option").first
    expect(first).to_be_focused()
    a.page.keyboard.press("ArrowRight")
    expect(picker.locator(".emoji-option").nth(1)).to_be_focused()
    a.page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(toggle).to_be_focused()
    toggle.press("Enter")
    a.page.keyboard.press("ArrowRight")
    a.page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value("nice 😄")

    help_toggle = panel.locator("[data-role=format-toggle]")
    help_toggle.click()
    help_box = panel.locator("[data-role=format-help]")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("**bold**")
    expect(help_box).to_contain_text("@here")
    help_toggle.press("Escape")
    expect(help_box).to_be_hidden()
    expect(help_toggle).to_have_attribute("aria-expanded", "false")
    help_toggle.click()
    expect(help_box).to_be_visible()
    panel.locator("[data-role=scroller]").click(position={"x": 10, "y": 10})  # a click elsewhere closes it
    expect(help_box).to_be_hidden()


def test_the_page_keeps_even_a_forged_body_html_to_the_allow_list(open_office, alice, bob):
    """body_html is sanitised on the server; the page still parses it inert and drops what the
    allow-list does not have (a second line of defence), and never runs or loads anything from it."""
    chat = group_with(alice, bob, title="Pair")
    a = open_office(alice)
    # Parsing the forged attributes makes Chromium report them to the page's CSP (blocked, not run).
    a.allow("violates the following Content Security Policy directive")
    panel = open_conversation(a, chat)
    a.page.evaluate(
        """(id) => window.office.messages.panels.get(id).apply({
            id: 999999, conversation: id, seq: 999999, rev: 999999, kind: "user", sender: window.office.me.id,
            body: "forged", mentions: [], reactions: [], attachments: [], reply_count: 0,
            created_at: new Date().toISOString(),
            body_html: '<p onclick="window.__pwned=1">hi <img src=x onerror="window.__pwned=2">'
              + '<a href="javascript:window.__pwned=3">js</a> <a href="https://example.com/x">ok</a>'
              + '<script>window.__pwned=4</script><iframe src="https://example.com"></iframe>'
              + '<span class="mention" data-user="1" style="color:red">@x</span></p>',
        })""",
        chat.id,
    )
    body = panel.locator('.message[data-id="999999"] .message-body')
    expect(body).to_contain_text("hi")
    expect(body).not_to_contain_text("__pwned")  # a script's content is dropped, not shown
    assert body.locator("img, script, iframe, [onclick], [style]").count() == 0
    expect(body.locator("a").first).not_to_have_attribute("href", re.compile("javascript"))
    expect(body.locator('a[href="https://example.com/x"]')).to_have_attribute("rel", "noopener noreferrer nofollow")
    body.locator("p").click()
    assert a.page.evaluate("() => window.__pwned") is None
    assert set(a.page.evaluate("() => window.__csp")) <= {"script-src-attr inline", "style-src-attr inline"}
