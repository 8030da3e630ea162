"""`body_html` kept in step with `body` by the services, and carried by every output."""

import importlib

import pytest
from django.apps import apps

from messaging import selectors, services
from messaging.events import replay_events
from messaging.models import Message
from tests.factories import group_with, post

API = "/api/v1"


@pytest.mark.django_db
def test_send_edit_and_delete_keep_body_html_in_step(alice, bob):
    chat = group_with(alice, bob)
    message = post(chat, alice, "**hi** <b>there</b>")
    assert message.body_html == "<p><strong>hi</strong> &lt;b&gt;there&lt;/b&gt;</p>"
    services.message_edit(actor=alice, message=message, body="~~hi~~")
    message.refresh_from_db()
    assert message.body == "~~hi~~" and message.body_html == "<p><s>hi</s></p>"
    services.message_delete(actor=alice, message=message)
    message.refresh_from_db()
    assert message.body == "" and message.body_html == ""


@pytest.mark.django_db
def test_system_messages_are_rendered_as_text(alice, space):
    conversation, _ = services.room_conversation_get_or_create(space=space)
    message = services.system_message_post(
        conversation=conversation, event="joined", body="Alice <x> joined", payload={"actor": alice.id}
    )
    assert message.body_html == "<p>Alice &lt;x&gt; joined</p>"
    services.system_message_update(message=message, body="Alice *left*", payload={})
    assert Message.objects.get(pk=message.pk).body_html == "<p>Alice <em>left</em></p>"


@pytest.mark.django_db
def test_admin_edit_re_renders(alice, bob):
    chat = group_with(alice, bob)
    message = post(chat, alice, "old")
    message.body = "_new_"
    services.message_admin_save(message=message, changed=["body"])
    assert Message.objects.get(pk=message.pk).body_html == "<p><em>new</em></p>"


@pytest.mark.django_db
def test_rest_changes_and_replay_carry_body_html(api, alice, bob):
    chat = group_with(alice, bob)
    response = api(alice).post(f"{API}/conversations/{chat.id}/messages/", {"body": "a `b`"}, format="json")
    assert response.status_code == 201 and response.json()["body_html"] == "<p>a <code>b</code></p>"
    page = api(bob).get(f"{API}/conversations/{chat.id}/messages/").json()
    assert page[0]["body_html"] == "<p>a <code>b</code></p>"
    changes = api(bob).get(f"{API}/conversations/{chat.id}/changes/?since_rev=0").json()
    assert changes["messages"][0]["body_html"] == "<p>a <code>b</code></p>"
    (event,) = replay_events(chat.id, 0)
    assert event["data"]["body_html"] == "<p>a <code>b</code></p>"
    edited = api(alice).patch(f"{API}/messages/{page[0]['id']}/", {"body": "**b**"}, format="json").json()
    assert edited["body_html"] == "<p><strong>b</strong></p>"


@pytest.mark.django_db(transaction=True)
def test_created_and_updated_events_carry_body_html(alice, bob, capture_events):
    chat = group_with(alice, bob)
    capture_events.sent.clear()
    with capture_events():
        message = post(chat, alice, "_x_")
    with capture_events():
        services.message_edit(actor=alice, message=message, body="_y_")
    with capture_events():
        services.message_delete(actor=alice, message=message)
    events = [m["event"] for g, m in capture_events.sent if g == f"conversation.{chat.id}"]
    assert [(e["type"], e["data"]["body_html"]) for e in events] == [
        ("message.created", "<p><em>x</em></p>"),
        ("message.updated", "<p><em>y</em></p>"),
        ("message.deleted", ""),
    ]


@pytest.mark.django_db
def test_the_data_migration_renders_messages_written_before(alice, bob):
    chat = group_with(alice, bob)
    old = post(chat, alice, "**old**")
    gone = post(chat, alice, "gone")
    services.message_delete(actor=alice, message=gone)
    Message.objects.filter(pk=old.pk).update(body_html="")
    migration = importlib.import_module("messaging.migrations.0004_fill_message_body_html")
    migration.fill(apps, None)
    assert Message.objects.get(pk=old.pk).body_html == "<p><strong>old</strong></p>"
    assert Message.objects.get(pk=gone.pk).body_html == ""
    assert selectors.message_list(conversation=chat)[0].body_html == "<p><strong>old</strong></p>"
