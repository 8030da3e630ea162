"""REST for conversations, messages, changes, read markers, edits, deletions, reactions and attachments.

Every refusal is checked for what it did not write: row counts and the conversation's `rev`.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from messaging import services
from messaging.models import Attachment, Conversation, Message, Participant, Reaction
from spaces import services as space_services
from tests.factories import SpaceFactory, UserFactory, group_with, post

API = "/api/v1"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def chat(alice, bob):
    """A group of alice and bob (alice created it and may manage it)."""
    conversation = services.group_create(actor=alice, title="Team", participant_ids=[bob.id])
    return conversation


def messages_url(conversation: Conversation) -> str:
    return f"{API}/conversations/{conversation.id}/messages/"


def rev_of(conversation: Conversation) -> int:
    return Conversation.objects.values_list("rev", flat=True).get(pk=conversation.pk)


def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        Conversation.objects.count(),
        Participant.objects.filter(is_active=True).count(),
        Message.objects.count(),
        Reaction.objects.count(),
        Attachment.objects.count(),
        tuple(Conversation.objects.order_by("id").values_list("rev", flat=True)),
        tuple(Message.objects.order_by("id").values_list("rev", "body")),
        tuple(Participant.objects.order_by("id").values_list("last_read_seq", flat=True)),
    )


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict) and body
    if "detail" in body:
        assert body["code"]
    return body


# --- conversations ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_conversation_list_newest_first_with_unread_and_last_message(api, alice, bob, carol, chat):
    quiet = group_with(alice, carol, title="Quiet")
    post(quiet, carol, "old news")
    post(chat, bob, "one")
    post(chat, bob, "two")
    group_with(bob, carol, title="Not mine")
    rows = api(alice).get(f"{API}/conversations/").json()
    assert [row["title"] for row in rows] == ["Team", "Quiet"]
    team = rows[0]
    assert team["unread_count"] == 2 and team["last_message"]["body"] == "two"
    assert team["participants"] == sorted([alice.id, bob.id]) and team["kind"] == "group"
    assert team["rev"] == 2 and team["last_read_seq"] == 0
    assert rows[1]["unread_count"] == 1
    post(quiet, alice, "bump")
    assert [row["title"] for row in api(alice).get(f"{API}/conversations/").json()] == ["Quiet", "Team"]


@pytest.mark.django_db
def test_unread_count_ignores_my_own_and_deleted_messages(api, alice, bob, chat):
    post(chat, alice, "mine")
    gone = post(chat, bob, "oops")
    post(chat, bob, "real")
    services.message_delete(actor=bob, message=gone)
    assert api(alice).get(f"{API}/conversations/").json()[0]["unread_count"] == 1
    assert api(alice).get(f"{API}/conversations/{chat.id}/").json()["unread_count"] == 1


@pytest.mark.django_db
def test_create_group(api, alice, bob, carol):
    response = api(alice).post(
        f"{API}/conversations/", {"title": "Lunch", "participants": [bob.id, carol.id, bob.id]}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "group" and body["title"] == "Lunch"
    assert body["participants"] == sorted([alice.id, bob.id, carol.id])
    conversation = Conversation.objects.get(pk=body["id"])
    assert alice.has_perm("messaging.manage_conversation", conversation)
    assert not bob.has_perm("messaging.manage_conversation", conversation)


@pytest.mark.django_db
def test_direct_get_or_create(api, alice, bob):
    first = api(alice).post(f"{API}/conversations/direct/", {"user": bob.id}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["kind"] == "direct" and first.json()["participants"] == sorted([alice.id, bob.id])
    again = api(alice).post(f"{API}/conversations/direct/", {"user": bob.id}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    theirs = api(bob).post(f"{API}/conversations/direct/", {"user": alice.id}, format="json")
    assert theirs.status_code == 200 and theirs.json()["id"] == first.json()["id"]
    assert Conversation.objects.filter(kind="direct").count() == 1


@pytest.mark.django_db
def test_conversation_detail(api, alice, bob, chat):
    post(chat, bob, "hello")
    body = api(alice).get(f"{API}/conversations/{chat.id}/").json()
    assert body["id"] == chat.id and body["unread_count"] == 1 and body["last_message"]["body"] == "hello"


@pytest.mark.django_db
def test_any_participant_may_rename_a_group(api, alice, bob, chat):
    response = api(bob).patch(f"{API}/conversations/{chat.id}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Renamed"
    assert Conversation.objects.get(pk=chat.pk).title == "Renamed"


@pytest.mark.django_db
def test_manager_changes_participants(api, alice, bob, carol, chat):
    response = api(alice).patch(f"{API}/conversations/{chat.id}/", {"participants": [carol.id]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["participants"] == sorted([alice.id, carol.id])
    assert not Participant.objects.get(conversation=chat, user=bob).is_active
    assert api(bob).get(f"{API}/conversations/{chat.id}/").status_code == 404  # bob left: no longer readable
    assert api(carol).get(f"{API}/conversations/{chat.id}/").status_code == 200


@pytest.mark.django_db
def test_granted_manager_changes_participants(api, alice, bob, carol, chat):
    assign_perm("messaging.manage_conversation", bob, chat)
    response = api(bob).patch(f"{API}/conversations/{chat.id}/", {"participants": [alice.id, carol.id]}, format="json")
    assert response.status_code == 200
    assert response.json()["participants"] == sorted([alice.id, bob.id, carol.id])


@pytest.mark.django_db
def test_participants_need_the_manage_permission(api, alice, bob, carol, chat):
    before = snapshot()
    response = api(bob).patch(
        f"{API}/conversations/{chat.id}/", {"title": "Mine now", "participants": [carol.id]}, format="json"
    )
    assert assert_error(response, 403)["code"] == "permission_denied"
    assert snapshot() == before
    assert Conversation.objects.get(pk=chat.pk).title == "Team"


@pytest.mark.django_db
def test_direct_conversations_cannot_be_renamed(api, alice, bob):
    conversation, _ = services.direct_get_or_create(actor=alice, other_id=bob.id)
    response = api(alice).patch(f"{API}/conversations/{conversation.id}/", {"title": "Us"}, format="json")
    assert assert_error(response, 400)["code"] == "not_a_group"
    assert Conversation.objects.get(pk=conversation.pk).title == ""


# --- messages: list and keyset paging -----------------------------------------------------------------


@pytest.mark.django_db
def test_huge_cursors_are_just_far_away(api, alice, chat):
    post(chat, alice)
    huge = "99999999999999999999999"
    assert [m["seq"] for m in api(alice).get(messages_url(chat) + f"?before={huge}").json()] == [1]
    assert api(alice).get(messages_url(chat) + f"?after={huge}").json() == []


@pytest.mark.django_db
def test_messages_pages_by_seq(api, alice, bob, chat):
    for n in range(1, 8):
        post(chat, alice if n % 2 else bob, f"m{n}")
    client = api(alice)

    def seqs(query: str = "") -> list[int]:
        response = client.get(messages_url(chat) + query)
        assert response.status_code == 200, response.json()
        return [m["seq"] for m in response.json()]

    assert seqs() == [1, 2, 3, 4, 5, 6, 7]
    assert seqs("?limit=3") == [5, 6, 7]
    assert seqs("?before=5&limit=3") == [2, 3, 4]
    assert seqs("?before=3&limit=5") == [1, 2]
    assert seqs("?after=2&limit=3") == [3, 4, 5]
    assert seqs("?after=5") == [6, 7]
    assert seqs("?after=2&before=5") == [3, 4]
    assert seqs("?after=7") == []
    assert seqs("?limit=100") == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.django_db
def test_message_shape(api, alice, bob, chat):
    first = post(chat, alice, "hi")
    response = api(bob).post(messages_url(chat), {"body": "re", "reply_to": first.id}, format="json")
    services.reaction_add(actor=alice, message=first, emoji="👍")
    rows = api(bob).get(messages_url(chat)).json()
    assert rows[0]["reactions"] == [{"emoji": "👍", "count": 1, "users": [alice.id], "me": False}]
    assert rows[1]["reply_to"] == first.id and rows[1]["id"] == response.json()["id"]
    assert set(rows[0]) >= {
        "id", "conversation", "seq", "rev", "kind", "sender", "body", "system", "reply_to", "reactions",
        "attachments", "client_id", "created_at", "edited_at", "deleted",
    }
    assert rows[0]["kind"] == "user" and rows[0]["sender"] == alice.id and rows[0]["deleted"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, code",
    [
        ("?limit=0", "invalid_limit"),
        ("?limit=101", "invalid_limit"),
        ("?limit=abc", "invalid_limit"),
        ("?limit=-5", "invalid_limit"),
        ("?before=x", "invalid_before"),
        ("?after=1.5", "invalid_after"),
        ("?after=-1", "invalid_after"),
    ],
)
def test_messages_bad_paging_is_400(api, alice, chat, query, code):
    post(chat, alice)
    response = api(alice).get(messages_url(chat) + query)
    assert assert_error(response, 400)["code"] == code


# --- messages: posting -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_message(api, alice, bob, chat):
    response = api(alice).post(messages_url(chat), {"body": "hello", "client_id": "c-1"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["seq"] == 1 and body["rev"] == 1 and body["sender"] == alice.id and body["client_id"] == "c-1"
    assert body["conversation"] == chat.id and body["kind"] == "user"
    assert rev_of(chat) == 1


@pytest.mark.django_db
def test_post_at_the_length_limit(api, alice, chat):
    response = api(alice).post(messages_url(chat), {"body": "x" * 10_000}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_client_id_retry_returns_the_first_message(api, alice, chat):
    first = api(alice).post(messages_url(chat), {"body": "once", "client_id": "abc"}, format="json")
    again = api(alice).post(messages_url(chat), {"body": "once", "client_id": "abc"}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Message.objects.count() == 1 and rev_of(chat) == 1


@pytest.mark.django_db
def test_client_id_with_a_different_body_is_409(api, alice, bob, chat):
    api(alice).post(messages_url(chat), {"body": "once", "client_id": "abc"}, format="json")
    before = snapshot()
    response = api(alice).post(messages_url(chat), {"body": "twice", "client_id": "abc"}, format="json")
    assert assert_error(response, 409)["code"] == "client_id_conflict"
    other = services.group_create(actor=alice, title="Other", participant_ids=[bob.id])
    before = snapshot()
    response = api(alice).post(messages_url(other), {"body": "once", "client_id": "abc"}, format="json")
    assert assert_error(response, 409)["code"] == "client_id_conflict"
    assert snapshot() == before


@pytest.mark.django_db
def test_client_ids_are_per_sender(api, alice, bob, chat):
    api(alice).post(messages_url(chat), {"body": "a", "client_id": "same"}, format="json")
    response = api(bob).post(messages_url(chat), {"body": "b", "client_id": "same"}, format="json")
    assert response.status_code == 201 and Message.objects.count() == 2


@pytest.mark.django_db
def test_reply_to(api, alice, bob, chat):
    first = post(chat, bob, "question")
    response = api(alice).post(messages_url(chat), {"body": "answer", "reply_to": first.id}, format="json")
    assert response.status_code == 201 and response.json()["reply_to"] == first.id


@pytest.mark.django_db
def test_reply_to_a_message_elsewhere_is_400(api, alice, bob, carol, mallory, chat):
    elsewhere = post(group_with(bob, carol), carol, "private")
    foreign_group = group_with(mallory, UserFactory(company=mallory.company))
    foreign = post(foreign_group, mallory, "theirs")
    before = snapshot()
    for target in (elsewhere.id, foreign.id, 987654321, "abc", -1):
        response = api(alice).post(messages_url(chat), {"body": "hi", "reply_to": target}, format="json")
        body = assert_error(response, 400)
        assert body.get("code") == "invalid_reply_to" or "reply_to" in body, body
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload, key",
    [
        ({}, "code"),
        ({"body": ""}, "code"),
        ({"body": "   \n"}, "code"),
        ({"body": "x" * 10_001}, "body"),
        ({"body": ["hi"]}, "body"),
        ({"body": {"text": "hi"}}, "body"),
        ({"body": None}, "body"),
        ({"body": "hi", "client_id": "c" * 65}, "client_id"),
        ({"body": "hi", "client_id": ["a"]}, "client_id"),
        ({"body": "hi", "reply_to": "first"}, "reply_to"),
        ({"body": "hi", "reply_to": True}, "reply_to"),
        ({"body": "hi", "attachments": "not-a-file"}, "attachments"),
    ],
)
def test_post_bad_input_is_400_and_writes_nothing(api, alice, chat, payload, key):
    post(chat, alice, "existing")
    before = snapshot()
    response = api(alice).post(messages_url(chat), payload, format="json")
    assert key in assert_error(response, 400)
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[1, 2]", '"hi"', "null", "{oops"])
def test_post_non_object_json_is_400(api, alice, chat, body):
    before = snapshot()
    response = api(alice).post(messages_url(chat), body, content_type="application/json")
    assert_error(response, 400)
    assert snapshot() == before


# --- attachments ---------------------------------------------------------------------------------------


def upload(name: str = "notes.txt", content: bytes = b"hello", content_type: str = "text/plain") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_post_with_attachments(api, alice, chat, media_root):
    response = api(alice).post(
        messages_url(chat),
        {"body": "see files", "attachments": [upload(), upload("chart.png", b"\x89PNG....", "image/png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    attachments = response.json()["attachments"]
    assert [(a["name"], a["size"], a["content_type"]) for a in attachments] == [
        ("notes.txt", 5, "text/plain"), ("chart.png", 8, "image/png"),
    ]
    assert [a["url"] for a in attachments] == [f"/api/v1/attachments/{a['id']}/" for a in attachments]
    assert len(stored_files(media_root)) == 2
    assert Attachment.objects.filter(message_id=response.json()["id"], company=alice.company).count() == 2


@pytest.mark.django_db
def test_attachment_alone_needs_no_body(api, alice, chat):
    response = api(alice).post(messages_url(chat), {"attachments": [upload()]}, format="multipart")
    assert response.status_code == 201 and response.json()["body"] == ""


@pytest.mark.django_db
def test_oversize_attachment_is_413_and_writes_nothing(api, alice, chat, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 1024
    before = snapshot()
    response = api(alice).post(
        messages_url(chat), {"body": "big", "attachments": [upload(), upload("big.txt", b"x" * 1025)]},
        format="multipart",
    )
    assert assert_error(response, 413)["code"] == "attachment_too_large"
    assert snapshot() == before and stored_files(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, content_type",
    [("run.exe", "application/x-msdownload"), ("page.html", "text/html"), ("x.svg", "image/svg+xml")],
)
def test_disallowed_attachment_type_is_415_and_writes_nothing(api, alice, chat, media_root, name, content_type):
    before = snapshot()
    response = api(alice).post(
        messages_url(chat), {"body": "file", "attachments": [upload(name, b"data", content_type)]}, format="multipart"
    )
    assert assert_error(response, 415)["code"] == "attachment_type"
    assert snapshot() == before and stored_files(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["page.html", "vector.svg", "script.js"])
def test_a_file_whose_name_implies_a_disallowed_type_is_415(api, alice, chat, media_root, name):
    """Files are served by name: a page declared as text/plain would come back as HTML from our origin."""
    before = snapshot()
    response = api(alice).post(
        messages_url(chat), {"body": "f", "attachments": [upload(name, b"<script>alert(1)</script>")]},
        format="multipart",
    )
    assert assert_error(response, 415)["code"] == "attachment_type"
    assert snapshot() == before and stored_files(media_root) == []


@pytest.mark.django_db
def test_stored_file_names_cannot_be_guessed(api, alice, bob, chat, media_root):
    for user in (alice, bob):
        api(user).post(messages_url(chat), {"attachments": [upload("report.pdf", b"%PDF", "application/pdf")]},
                       format="multipart")
    names = sorted(Attachment.objects.values_list("file", flat=True))
    prefix = f"attachments/{alice.company_id}/"
    assert all(name.startswith(prefix) and name.endswith("/report.pdf") for name in names)
    secrets_ = [name[len(prefix):-len("/report.pdf")] for name in names]
    assert secrets_[0] != secrets_[1] and all(len(secret) >= 16 for secret in secrets_)


def attach(api, user, conversation, *files) -> list[dict]:
    response = api(user).post(messages_url(conversation), {"body": "files", "attachments": list(files)},
                              format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["attachments"]


@pytest.mark.django_db
def test_participants_download_attachments_with_their_type(api, alice, bob, chat):
    text, image = attach(api, alice, chat, upload(), upload("chart.png", b"\x89PNG....", "image/png"))
    response = api(bob).get(text["url"], HTTP_ACCEPT="text/html,*/*")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"hello"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    # An <img> asks for images only; it gets the picture, shown inline.
    response = api(alice).get(image["url"], HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x89PNG...."
    assert response["Content-Type"] == "image/png" and response["Content-Disposition"].startswith("inline")


@pytest.mark.django_db
def test_attachments_are_404_for_everyone_who_may_not_read_the_message(api, alice, bob, carol, mallory, chat):
    """Another company, a colleague outside the conversation, and anyone once the message is deleted."""
    (file,) = attach(api, alice, chat, upload())
    for outsider in (carol, mallory):
        assert assert_error(api(outsider).get(file["url"]), 404)["code"] == "not_found"
    anonymous = APIClient().get(file["url"])
    assert anonymous.status_code in (401, 403) and anonymous.json()["code"] in ("not_authenticated", "unauthorized")
    message = Attachment.objects.get(pk=file["id"]).message
    services.message_delete(actor=alice, message=message)
    assert assert_error(api(bob).get(file["url"]), 404)["code"] == "not_found"
    assert assert_error(api(bob).get("/api/v1/attachments/999999/"), 404)["code"] == "not_found"


@pytest.mark.django_db
def test_an_attachment_whose_file_is_gone_is_404_not_500(api, alice, chat, media_root):
    (file,) = attach(api, alice, chat, upload())
    for stored in stored_files(media_root):
        stored.unlink()
    assert assert_error(api(alice).get(file["url"]), 404)["code"] == "not_found"


@pytest.mark.django_db
def test_too_many_attachments_is_400(api, alice, chat, media_root):
    before = snapshot()
    files = [upload(f"f{n}.txt") for n in range(6)]
    response = api(alice).post(messages_url(chat), {"body": "many", "attachments": files}, format="multipart")
    assert assert_error(response, 400)["code"] == "too_many_attachments"
    assert snapshot() == before and stored_files(media_root) == []


@pytest.mark.django_db
def test_deleting_a_message_removes_its_files(api, alice, chat, media_root):
    response = api(alice).post(messages_url(chat), {"body": "f", "attachments": [upload()]}, format="multipart")
    assert len(stored_files(media_root)) == 1
    assert api(alice).delete(f"{API}/messages/{response.json()['id']}/").status_code == 204
    assert stored_files(media_root) == [] and not Attachment.objects.exists()


# --- changes ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changes_since_rev(api, alice, bob, chat):
    one = post(chat, alice, "one")  # rev 1
    two = post(chat, bob, "two")  # rev 2
    three = post(chat, alice, "three")  # rev 3
    client = api(alice)
    assert client.patch(f"{API}/messages/{one.id}/", {"body": "one!"}, format="json").status_code == 200  # rev 4
    assert client.post(f"{API}/messages/{two.id}/reactions/", {"emoji": "🎉"}, format="json").status_code == 200  # 5
    assert client.delete(f"{API}/messages/{three.id}/").status_code == 204  # rev 6

    body = client.get(f"{API}/conversations/{chat.id}/changes/?since_rev=3").json()
    assert body["rev"] == 6
    changed = {m["id"]: m for m in body["messages"]}
    assert [m["rev"] for m in body["messages"]] == [4, 5, 6]
    assert changed[one.id]["body"] == "one!" and changed[one.id]["edited_at"] is not None
    assert changed[two.id]["reactions"][0]["emoji"] == "🎉" and changed[two.id]["reactions"][0]["me"] is True
    assert changed[three.id]["deleted"] is True and changed[three.id]["body"] == ""
    assert changed[three.id]["seq"] == 3

    assert client.delete(f"{API}/messages/{two.id}/reactions/🎉/").status_code == 200  # rev 7
    body = client.get(f"{API}/conversations/{chat.id}/changes/?since_rev=6").json()
    assert body["rev"] == 7 and [(m["id"], m["reactions"]) for m in body["messages"]] == [(two.id, [])]
    assert client.get(f"{API}/conversations/{chat.id}/changes/?since_rev=7").json()["messages"] == []
    everything = client.get(f"{API}/conversations/{chat.id}/changes/").json()
    assert sorted(m["id"] for m in everything["messages"]) == sorted([one.id, two.id, three.id])


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["abc", "-1", "1.5"])
def test_changes_bad_since_rev_is_400(api, alice, chat, since):
    response = api(alice).get(f"{API}/conversations/{chat.id}/changes/?since_rev={since}")
    assert assert_error(response, 400)["code"] == "invalid_since_rev"


# --- read markers -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_read_marker_drives_unread_count(api, alice, bob, chat):
    for n in range(4):
        post(chat, bob, f"m{n}")
    client = api(alice)
    response = client.post(f"{API}/conversations/{chat.id}/read/", {"seq": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["last_read_seq"] == 3 and response.json()["unread_count"] == 1
    assert client.get(f"{API}/conversations/").json()[0]["unread_count"] == 1
    # A marker never goes back, and never past the conversation's end.
    assert client.post(f"{API}/conversations/{chat.id}/read/", {"seq": 1}, format="json").json()["last_read_seq"] == 3
    assert client.post(f"{API}/conversations/{chat.id}/read/", {"seq": 99}, format="json").json()["last_read_seq"] == 4
    assert client.get(f"{API}/conversations/{chat.id}/").json()["unread_count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"seq": -1}, {"seq": "abc"}, {"seq": None}, {"seq": [1]}])
def test_read_bad_seq_is_400(api, alice, bob, chat, payload):
    post(chat, bob)
    before = snapshot()
    response = api(alice).post(f"{API}/conversations/{chat.id}/read/", payload, format="json")
    assert "seq" in assert_error(response, 400)
    assert snapshot() == before


# --- edit and delete ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_edit_own_message(api, alice, chat):
    message = post(chat, alice, "tpyo")
    response = api(alice).patch(f"{API}/messages/{message.id}/", {"body": "typo"}, format="json")
    assert response.status_code == 200
    assert response.json()["body"] == "typo" and response.json()["edited_at"] is not None
    assert response.json()["rev"] == 2 and response.json()["seq"] == 1
    assert rev_of(chat) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"body": "x" * 10_001}, {"body": ""}, {"body": ["x"]}, {"body": None}])
def test_edit_bad_body_is_400_and_writes_nothing(api, alice, chat, payload):
    message = post(chat, alice, "keep")
    before = snapshot()
    assert_error(api(alice).patch(f"{API}/messages/{message.id}/", payload, format="json"), 400)
    assert snapshot() == before


@pytest.mark.django_db
def test_editing_someone_elses_message_is_403(api, alice, bob, admin_user, chat):
    message = post(chat, bob, "mine")
    Participant.objects.create(conversation=chat, user=admin_user)
    before = snapshot()
    for user in (alice, admin_user):
        response = api(user).patch(f"{API}/messages/{message.id}/", {"body": "yours"}, format="json")
        assert assert_error(response, 403)["code"] == "not_author"
    assert snapshot() == before


@pytest.mark.django_db
def test_system_messages_cannot_be_edited(api, alice, space):
    space_services.space_enter(actor=alice, space=space)
    note = Message.objects.get(conversation__space=space)
    response = api(alice).patch(f"{API}/messages/{note.id}/", {"body": "I was never here"}, format="json")
    assert assert_error(response, 403)["code"] == "not_author"


@pytest.mark.django_db
def test_delete_own_message_leaves_a_tombstone(api, alice, bob, chat):
    message = post(chat, alice, "regret")
    services.reaction_add(actor=bob, message=message, emoji="😬")
    assert api(alice).delete(f"{API}/messages/{message.id}/").status_code == 204
    message.refresh_from_db()
    assert message.deleted and message.body == "" and message.seq == 1 and message.rev == 3
    assert not Reaction.objects.exists()
    row = api(bob).get(messages_url(chat)).json()[0]
    assert row["deleted"] is True and row["body"] == "" and row["reactions"] == []
    # Deleting again changes nothing.
    assert api(alice).delete(f"{API}/messages/{message.id}/").status_code == 204
    assert rev_of(chat) == 3


@pytest.mark.django_db
def test_deleted_message_cannot_be_edited_or_reacted_to(api, alice, chat):
    message = post(chat, alice, "gone")
    services.message_delete(actor=alice, message=message)
    before = snapshot()
    assert_error(api(alice).patch(f"{API}/messages/{message.id}/", {"body": "back"}, format="json"), 409)
    assert_error(api(alice).post(f"{API}/messages/{message.id}/reactions/", {"emoji": "👍"}, format="json"), 409)
    assert snapshot() == before


@pytest.mark.django_db
def test_deleting_someone_elses_message_is_403(api, alice, bob, chat):
    message = post(chat, bob, "mine")
    before = snapshot()
    assert assert_error(api(alice).delete(f"{API}/messages/{message.id}/"), 403)["code"] == "not_author"
    assert snapshot() == before


@pytest.mark.django_db
def test_company_admin_deletes_any_message_of_the_company(api, alice, bob, admin_user, chat, space):
    message = post(chat, bob, "inappropriate")
    assert api(admin_user).delete(f"{API}/messages/{message.id}/").status_code == 204
    assert Message.objects.get(pk=message.pk).deleted
    space_services.space_enter(actor=alice, space=space)
    note = Message.objects.get(conversation__space=space)
    assert api(admin_user).delete(f"{API}/messages/{note.id}/").status_code == 204


# --- reactions ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reactions_add_and_remove(api, alice, bob, chat):
    message = post(chat, bob, "ship it")
    response = api(alice).post(f"{API}/messages/{message.id}/reactions/", {"emoji": "🚀"}, format="json")
    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": "🚀", "count": 1, "users": [alice.id], "me": True}]
    assert response.json()["rev"] == 2
    # The same reaction again is a no-op: no new revision.
    again = api(alice).post(f"{API}/messages/{message.id}/reactions/", {"emoji": "🚀"}, format="json")
    assert again.status_code == 200 and again.json()["rev"] == 2 and Reaction.objects.count() == 1
    api(bob).post(f"{API}/messages/{message.id}/reactions/", {"emoji": "🚀"}, format="json")
    assert api(alice).get(messages_url(chat)).json()[0]["reactions"][0]["count"] == 2
    removed = api(alice).delete(f"{API}/messages/{message.id}/reactions/🚀/")
    assert removed.status_code == 200
    assert removed.json()["reactions"] == [{"emoji": "🚀", "count": 1, "users": [bob.id], "me": False}]
    assert rev_of(chat) == 4
    # Removing a reaction I do not have changes nothing.
    assert api(alice).delete(f"{API}/messages/{message.id}/reactions/🚀/").status_code == 200
    assert rev_of(chat) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"emoji": ""}, {"emoji": "   "}, {"emoji": "x" * 33}, {"emoji": ["👍"]}])
def test_bad_emoji_is_400_and_writes_nothing(api, alice, chat, payload):
    message = post(chat, alice)
    before = snapshot()
    assert_error(api(alice).post(f"{API}/messages/{message.id}/reactions/", payload, format="json"), 400)
    assert snapshot() == before


# --- room conversations: read by whoever may enter, written by those inside --------------------------


@pytest.mark.django_db
def test_room_is_readable_by_the_company_but_writable_only_inside(api, alice, bob, space):
    space_services.space_enter(actor=alice, space=space)
    room = Conversation.objects.get(space=space)
    assert api(alice).post(messages_url(room), {"body": "hi room"}, format="json").status_code == 201
    assert [m["body"] for m in api(bob).get(messages_url(room)).json()][-1] == "hi room"
    before = snapshot()
    response = api(bob).post(messages_url(room), {"body": "from outside"}, format="json")
    assert assert_error(response, 403)["code"] == "not_in_space"
    assert snapshot() == before


@pytest.mark.django_db
def test_private_room_is_hidden_from_people_without_a_grant(api, alice, bob, space):
    space.is_private = True
    space.save()
    assign_perm("spaces.enter_space", alice, space)
    space_services.space_enter(actor=alice, space=space)
    room = Conversation.objects.get(space=space)
    assert api(bob).get(messages_url(room)).status_code == 404
    assert api(bob).get(f"{API}/conversations/{room.id}/").status_code == 404


# --- unknown ids --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/conversations/987654/"),
        ("patch", "/conversations/987654/"),
        ("get", "/conversations/987654/messages/"),
        ("post", "/conversations/987654/messages/"),
        ("get", "/conversations/987654/changes/"),
        ("post", "/conversations/987654/read/"),
        ("patch", "/messages/987654/"),
        ("delete", "/messages/987654/"),
        ("post", "/messages/987654/reactions/"),
        ("delete", "/messages/987654/reactions/👍/"),
        ("patch", "/messages/99999999999999999999/"),
    ],
)
def test_unknown_ids_are_404(api, alice, method, path):
    response = getattr(api(alice), method)(API + path, {"body": "x", "seq": 1, "emoji": "👍"}, format="json")
    assert assert_error(response, 404)["code"] == "not_found"


# --- bad input for groups and direct -----------------------------------------------------------------


@pytest.mark.django_db
def test_group_bad_input_is_400_and_writes_nothing(api, alice, bob, mallory):
    before = snapshot()
    for payload in [
        {},
        {"title": "T"},
        {"participants": []},
        {"participants": "bob"},
        {"participants": ["bob"]},
        {"participants": [None]},
        {"participants": [mallory.id]},
        {"participants": [bob.id, mallory.id]},
        {"participants": [987654]},
        {"title": "x" * 201, "participants": [bob.id]},
        {"title": ["T"], "participants": [bob.id]},
    ]:
        response = api(alice).post(f"{API}/conversations/", payload, format="json")
        body = assert_error(response, 400)
        assert "participants" in body or "title" in body or body.get("code") == "unknown_participant", payload
    assert snapshot() == before


@pytest.mark.django_db
def test_direct_bad_input_is_400_and_writes_nothing(api, alice, mallory):
    inactive = UserFactory(company=alice.company, is_active=False)
    before = snapshot()
    for payload in [{}, {"user": "bob"}, {"user": None}, {"user": [1]}, {"user": mallory.id}, {"user": 987654},
                    {"user": inactive.id}]:
        response = api(alice).post(f"{API}/conversations/direct/", payload, format="json")
        body = assert_error(response, 400)
        assert "user" in body or body.get("code") == "unknown_participant", payload
    assert snapshot() == before


@pytest.mark.django_db
def test_patch_bad_participants_writes_nothing(api, alice, bob, mallory, chat):
    before = snapshot()
    for payload in [{"participants": [mallory.id]}, {"participants": ["x"]}, {"participants": "all"},
                    {"title": "x" * 201}, {"title": 5.5, "participants": [mallory.id]}]:
        response = api(alice).patch(f"{API}/conversations/{chat.id}/", payload, format="json")
        assert_error(response, 400)
    assert snapshot() == before
    assert Conversation.objects.get(pk=chat.pk).title == "Team"


# --- query counts do not grow with rows ---------------------------------------------------------------


def busy_conversation(alice, bob, messages: int) -> Conversation:
    conversation = group_with(alice, bob, UserFactory(company=alice.company))
    for n in range(messages):
        message = post(conversation, bob if n % 2 else alice, f"message {n}")
        services.reaction_add(actor=alice, message=message, emoji="👍")
        if n % 3 == 0:
            Attachment.objects.create(
                company=alice.company, message=message, uploaded_by=alice, file="attachments/x.txt", name="x.txt",
                size=1, content_type="text/plain",
            )
    return conversation


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_conversation_list_query_count_does_not_grow(api, alice, bob, django_assert_max_num_queries, count):
    for _ in range(count):
        busy_conversation(alice, bob, 2)
    client = api(alice)
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/conversations/")
    assert len(response.json()) == count


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_message_list_query_count_does_not_grow(api, alice, bob, django_assert_max_num_queries, count):
    conversation = busy_conversation(alice, bob, count)
    client = api(alice)
    with django_assert_max_num_queries(8):
        response = client.get(messages_url(conversation))
    assert len(response.json()) == count


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_changes_query_count_does_not_grow(api, alice, bob, django_assert_max_num_queries, count):
    conversation = busy_conversation(alice, bob, count)
    client = api(alice)
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/conversations/{conversation.id}/changes/?since_rev=0")
    assert len(response.json()["messages"]) == count


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_room_conversation_query_count_does_not_grow(api, alice, django_assert_max_num_queries, count):
    space = SpaceFactory(company=alice.company, capacity=50)
    for _ in range(count):
        space_services.space_enter(actor=UserFactory(company=alice.company), space=space)
    client = api(alice)
    with django_assert_max_num_queries(12):
        response = client.get(f"{API}/spaces/{space.id}/conversation/")
    assert len(response.json()["participants"]) == count


# --- the authorization matrix -------------------------------------------------------------------------

ROLES = ["anonymous", "author", "participant", "other", "admin", "foreign"]

# (method, path, payload, expected status per role in ROLES order)
MATRIX = [
    ("get", "/conversations/", None, [401, 200, 200, 200, 200, 200]),
    ("post", "/conversations/", {"title": "G", "participants": ["{bob}"]}, [401, 201, 201, 201, 201, 400]),
    ("post", "/conversations/direct/", {"user": "{bob}"}, [401, 200, 201, 201, 201, 400]),
    ("get", "/conversations/{conversation}/", None, [401, 200, 200, 404, 404, 404]),
    ("patch", "/conversations/{conversation}/", {"title": "New"}, [401, 200, 200, 404, 404, 404]),
    ("patch", "/conversations/{conversation}/", {"participants": ["{bob}"]}, [401, 200, 403, 404, 404, 404]),
    ("get", "/conversations/{conversation}/messages/", None, [401, 200, 200, 404, 404, 404]),
    ("post", "/conversations/{conversation}/messages/", {"body": "hi"}, [401, 201, 201, 404, 404, 404]),
    ("get", "/conversations/{conversation}/changes/?since_rev=0", None, [401, 200, 200, 404, 404, 404]),
    ("post", "/conversations/{conversation}/read/", {"seq": 1}, [401, 200, 200, 404, 404, 404]),
    ("patch", "/messages/{message}/", {"body": "edited"}, [401, 200, 403, 404, 404, 404]),
    ("delete", "/messages/{message}/", None, [401, 204, 403, 404, 204, 404]),
    ("post", "/messages/{message}/reactions/", {"emoji": "👍"}, [401, 200, 200, 404, 404, 404]),
    ("delete", "/messages/{message}/reactions/👍/", None, [401, 200, 200, 404, 404, 404]),
]


def fill(value, ids: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("role_index, role", list(enumerate(ROLES)))
@pytest.mark.parametrize("method, path, payload, expected", MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_messaging_endpoint_matrix(alice, bob, carol, admin_user, mallory, method, path, payload, expected,
                                   role_index, role):
    conversation = services.group_create(actor=alice, title="Team", participant_ids=[bob.id])
    services.direct_get_or_create(actor=alice, other_id=bob.id)
    message = post(conversation, alice, "hello")
    services.reaction_add(actor=alice, message=message, emoji="👍")
    services.reaction_add(actor=bob, message=message, emoji="👍")
    ids = {"bob": bob.id, "conversation": conversation.id, "message": message.id}
    user = {"anonymous": None, "author": alice, "participant": bob, "other": carol, "admin": admin_user,
            "foreign": mallory}[role]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    before = snapshot()
    response = getattr(client, method)(API + path.format(**ids), fill(payload, ids), format="json")
    assert response.status_code == expected[role_index], response.content
    assert response.status_code == 204 or response["Content-Type"] == "application/json"
    if response.status_code >= 400:
        body = response.json()
        assert body.get("code") or any(isinstance(v, list) for v in body.values())
        assert snapshot() == before


@pytest.mark.django_db
def test_foreign_user_cannot_tell_missing_from_anothers(api, alice, bob, mallory, chat):
    message = post(chat, alice)
    for real, fake in [(f"/conversations/{chat.id}/", "/conversations/987654/"),
                       (f"/conversations/{chat.id}/messages/", "/conversations/987654/messages/")]:
        assert api(mallory).get(API + real).json() == api(mallory).get(API + fake).json()
    assert (api(mallory).delete(f"{API}/messages/{message.id}/").json()
            == api(mallory).delete(f"{API}/messages/987654/").json())


@pytest.mark.django_db
def test_changes_come_in_pages_with_has_more(api, alice, chat, monkeypatch):
    from messaging import selectors

    monkeypatch.setattr(selectors, "CHANGES_PAGE", 3)
    messages = [post(chat, alice, f"m{n}") for n in range(5)]
    services.message_edit(actor=alice, message=messages[0], body="edited")  # rev 6
    client = api(alice)
    seen, since = [], 0
    for _ in range(5):
        body = client.get(f"{API}/conversations/{chat.id}/changes/?since_rev={since}").json()
        seen += [m["rev"] for m in body["messages"]]
        since = body["rev"]
        if not body["has_more"]:
            break
    assert seen == [2, 3, 4, 5, 6] and since == 6
