"""Threads in a real browser: a thread opens beside the conversation, its composer replies into it,
the replies also show in the conversation, and "N replies" under the root updates live on another
page, whose thread pane then follows new replies as they come. On a phone the thread takes the view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import axe_violations, describe, serious
from tests.factories import group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_conversation(office, conversation):
    office.page.locator(f'#conversation-list [data-open="{conversation.id}"]').click()
    panel = office.page.locator(f'#conversation-slot .panel[data-conversation="{conversation.id}"]')
    expect(panel.locator("[data-role=history]")).not_to_have_text("")
    return panel


def message_in(panel, message):
    return panel.locator(f'.message[data-id="{message.id}"]')


def test_reply_in_a_thread_beside_the_conversation_and_the_count_updates_live(open_office, alice, bob):
    chat = group_with(alice, bob, title="Launch")
    root = post(chat, bob, "Who takes the release notes?")
    a = open_office(alice, width=1440, height=900)
    b = open_office(bob, width=1440, height=900)
    alices = open_conversation(a, chat)
    bobs = open_conversation(b, chat)
    root_a = message_in(alices, root)
    expect(root_a.locator("[data-role=thread]")).to_be_hidden()  # no replies yet

    root_a.hover()
    root_a.locator(".message-actions [data-act=thread]").click()
    pane = a.page.locator("#thread-pane .thread")
    expect(pane).to_be_visible()
    expect(pane.locator(f'.message[data-id="{root.id}"] .message-body')).to_have_text("Who takes the release notes?")
    thread_box = pane.locator("textarea[data-role=input]")
    expect(thread_box).to_be_focused()
    # Beside the conversation: right of the chat, both on screen.
    chat_box, pane_box = alices.bounding_box(), pane.bounding_box()
    assert pane_box["x"] >= chat_box["x"] + chat_box["width"] - 1, (chat_box, pane_box)
    expect(alices).to_be_in_viewport()

    thread_box.fill("I will, by _Friday_")
    thread_box.press("Enter")
    reply = pane.locator(".message:not(.system)").last
    expect(reply.locator(".message-body em")).to_have_text("Friday")
    expect(pane.locator(".message.is-pending")).to_have_count(0)
    expect(pane.locator("[data-role=count]")).to_have_text("· 1 reply")
    problems = serious(axe_violations(a.page, context="#thread-pane"))
    assert not problems, describe(problems)
    # The reply shows in the conversation as well, and the root counts it, on both pages.
    expect(alices.locator(".message-body", has_text="I will, by Friday")).to_have_count(1)
    expect(root_a.locator("[data-role=thread]")).to_have_text("1 reply")
    root_b = message_in(bobs, root)
    expect(root_b.locator("[data-role=thread]")).to_have_text("1 reply")

    # Bob opens the thread from the link; Alice's next reply reaches his pane and both counts live.
    root_b.locator("[data-role=thread]").click()
    bobs_pane = b.page.locator("#thread-pane .thread")
    expect(bobs_pane.locator(".message-body", has_text="I will, by Friday")).to_have_count(1)
    thread_box.fill("and the changelog")
    thread_box.press("Enter")
    expect(bobs_pane.locator(".message-body", has_text="and the changelog")).to_have_count(1)
    expect(bobs_pane.locator("[data-role=count]")).to_have_text("· 2 replies")
    expect(root_b.locator("[data-role=thread]")).to_have_text("2 replies")
    assert bobs_pane.locator(".message-body").all_text_contents() == [
        "Who takes the release notes?",
        "I will, by Friday",
        "and the changelog",
    ]

    # Bob replies from his thread composer; closing the thread gives the conversation the focus.
    bobs_box = bobs_pane.locator("textarea[data-role=input]")
    bobs_box.fill("thanks!")
    bobs_box.press("Enter")
    expect(pane.locator(".message-body", has_text="thanks!")).to_have_count(1)
    expect(root_a.locator("[data-role=thread]")).to_have_text("3 replies")
    bobs_box.press("Escape")
    expect(b.page.locator("#thread-pane")).to_be_hidden()
    expect(bobs.locator("textarea[data-role=input]")).to_be_focused()


def test_on_a_phone_the_thread_takes_the_view(open_office, alice, bob):
    chat = group_with(alice, bob, title="Pair")
    root = post(chat, bob, "lunch?")
    phone = open_office(alice, width=390, height=844)
    phone.page.locator("#tabbar [data-view=chats]").click()
    panel = open_conversation(phone, chat)
    message = message_in(panel, root)
    message.click()  # a tap shows the message's toolbar (focus within)
    message.locator(".message-actions [data-act=thread]").click()
    pane = phone.page.locator("#thread-pane .thread")
    expect(pane).to_be_visible()
    expect(panel).to_be_hidden()
    box = pane.locator("textarea[data-role=input]")
    box.fill("at noon")
    box.press("Enter")
    expect(pane.locator(".message-body", has_text="at noon")).to_have_count(1)
    expect(box).to_be_in_viewport(ratio=1)
    pane.locator("[data-role=close]").click()
    expect(panel).to_be_visible()
    expect(message_in(panel, root).locator("[data-role=thread]")).to_have_text("1 reply")
