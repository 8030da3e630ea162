"""Exports over REST: who may ask for one and see it (two companies, admins and members, a person's
own export), what the zip holds, the progress reaching 100, failures marked failed."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from exports import archive, services
from exports.models import Export
from messaging.models import Attachment
from tests.factories import SpaceFactory, UserFactory, group_with, post

pytestmark = pytest.mark.django_db


def _zip(client, export_id: int) -> dict[str, object]:
    detail = client.get(f"/api/v1/exports/{export_id}/").json()
    assert detail["status"] == "done" and detail["progress"] == 100
    response = client.get(detail["download"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive_file:
        return {name: json.loads(archive_file.read(name)) for name in archive_file.namelist()}


@pytest.fixture
def acme_data(company, alice, bob, admin_user, other_company, mallory):
    lounge = SpaceFactory(company=company, name="Lounge")
    chat = group_with(alice, bob, title="Alice and Bob")
    mine = post(chat, alice, "from alice")
    theirs = post(chat, bob, "from bob")
    Attachment.objects.create(
        company=company,
        message=mine,
        uploaded_by=alice,
        file=SimpleUploadedFile("notes.txt", b"secret bytes"),
        name="notes.txt",
        size=12,
        content_type="text/plain",
    )
    SpaceFactory(company=other_company, name="Elsewhere")
    post(group_with(mallory, UserFactory(company=other_company)), mallory, "other company")
    return {"space": lounge, "chat": chat, "mine": mine, "theirs": theirs}


def test_an_admin_exports_exactly_the_company(api, admin_user, alice, bob, company, acme_data):
    client = api(admin_user)
    response = client.post("/api/v1/exports/", {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued" and body["download"] is None
    assert services.exports_run_pending() == 1
    files = _zip(client, body["id"])
    assert set(files) == {"company.json", "people.json", "spaces.json", "conversations.json", "messages.json"}
    assert files["company.json"]["id"] == company.id
    assert {p["id"] for p in files["people.json"]} == {admin_user.id, alice.id, bob.id}
    assert [s["name"] for s in files["spaces.json"]] == [s.name for s in company.spaces.order_by("id")]
    conversations = {c["id"]: c for c in files["conversations.json"]}
    assert set(conversations) == set(company.conversations.values_list("id", flat=True))
    assert set(conversations[acme_data["chat"].id]["participants"]) == {alice.id, bob.id}
    messages = {m["id"]: m for m in files["messages.json"]}
    assert acme_data["mine"].id in messages and acme_data["theirs"].id in messages
    assert all(m["conversation"] in conversations for m in messages.values())
    assert "other company" not in json.dumps(files)
    [attachment] = messages[acme_data["mine"].id]["attachments"]
    assert attachment == {
        "id": attachment["id"],
        "name": "notes.txt",
        "size": 12,
        "content_type": "text/plain",
        "created_at": attachment["created_at"],
    }
    assert "secret bytes" not in json.dumps(files)


def test_anyone_exports_only_their_own_messages(api, alice, bob, acme_data):
    client = api(alice)
    response = client.post("/api/v1/exports/", {"scope": "mine"}, format="json")
    assert response.status_code == 201
    services.exports_run_pending()
    files = _zip(client, response.json()["id"])
    assert set(files) == {"company.json", "people.json", "conversations.json", "messages.json"}
    assert [p["id"] for p in files["people.json"]] == [alice.id]
    assert [m["id"] for m in files["messages.json"]] == [acme_data["mine"].id]
    assert [c["id"] for c in files["conversations.json"]] == [acme_data["chat"].id]
    assert files["conversations.json"][0]["participants"] == [alice.id]


def test_a_member_may_not_export_the_company(api, alice):
    response = api(alice).post("/api/v1/exports/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Export.objects.exists()


def test_bad_scope_is_a_400(api, admin_user):
    response = api(admin_user).post("/api/v1/exports/", {"scope": "everything"}, format="json")
    assert response.status_code == 400


def test_anonymous_is_refused(api):
    assert api(None).post("/api/v1/exports/", {}, format="json").status_code in (401, 403)
    assert api(None).get("/api/v1/exports/1/").status_code in (401, 403)


def test_one_export_at_a_time(api, admin_user):
    client = api(admin_user)
    assert client.post("/api/v1/exports/", {}, format="json").status_code == 201
    response = client.post("/api/v1/exports/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "export_in_progress"


def test_who_sees_a_company_export(api, admin_user, alice, company, other_company, acme_data):
    client = api(admin_user)
    export_id = client.post("/api/v1/exports/", {}, format="json").json()["id"]
    services.exports_run_pending()
    other_admin = UserFactory(company=other_company, is_company_admin=True)
    second_admin = UserFactory(company=company, is_company_admin=True)
    for path in (f"/api/v1/exports/{export_id}/", f"/api/v1/exports/{export_id}/download/"):
        assert api(other_admin).get(path).status_code == 404
        assert api(other_admin).get(path).json()["code"] == "export_not_found"
        assert api(alice).get(path).status_code == 403
        assert api(second_admin).get(path).status_code == 200
    assert api(admin_user).get("/api/v1/exports/999999/").status_code == 404


def test_who_sees_my_export(api, alice, bob, admin_user, other_company, acme_data):
    export_id = api(alice).post("/api/v1/exports/", {"scope": "mine"}, format="json").json()["id"]
    services.exports_run_pending()
    other_admin = UserFactory(company=other_company, is_company_admin=True)
    for path in (f"/api/v1/exports/{export_id}/", f"/api/v1/exports/{export_id}/download/"):
        assert api(alice).get(path).status_code == 200
        for outsider in (bob, admin_user, other_admin):
            assert api(outsider).get(path).status_code == 404


def test_download_before_done_is_a_409(api, admin_user):
    client = api(admin_user)
    export_id = client.post("/api/v1/exports/", {}, format="json").json()["id"]
    response = client.get(f"/api/v1/exports/{export_id}/download/")
    assert response.status_code == 409
    assert response.json()["code"] == "export_not_ready"


def test_progress_moves_forward_to_100(api, admin_user, company, acme_data, monkeypatch):
    """Rows are written in chunks, each one telling the progress: record what the row said."""
    monkeypatch.setattr(archive, "CHUNK_ROWS", 1)
    for i in range(5):
        SpaceFactory(company=company, name=f"Room {i}")
    seen: list[int] = []
    original = archive.ZipWriter.json_list

    def watched(self, name, rows):
        def rows_then_progress():
            for row in rows:
                yield row
                seen.append(Export.objects.get().progress)

        return original(self, name, rows_then_progress())

    monkeypatch.setattr(archive.ZipWriter, "json_list", watched)
    export_id = api(admin_user).post("/api/v1/exports/", {}, format="json").json()["id"]
    services.exports_run_pending()
    assert seen == sorted(seen) and 0 < seen[-1] < 100 and len(set(seen)) > 3
    export = Export.objects.get(pk=export_id)
    assert export.status == "done" and export.progress == 100 and export.finished_at is not None


def test_a_failed_build_is_marked_failed(api, admin_user, acme_data, monkeypatch):
    def broken(writer, company):
        raise OSError("disk full")

    monkeypatch.setattr(archive, "write_company", broken)
    export_id = api(admin_user).post("/api/v1/exports/", {}, format="json").json()["id"]
    services.exports_run_pending()
    body = api(admin_user).get(f"/api/v1/exports/{export_id}/").json()
    assert body["status"] == "failed" and body["download"] is None
    # A failed export does not block the next one.
    assert api(admin_user).post("/api/v1/exports/", {}, format="json").status_code == 201


def test_a_build_whose_process_died_is_marked_failed(admin_user):
    export = services.export_request(actor=admin_user, scope="company")
    claimed = services.export_claim_next()
    assert claimed is not None and claimed.pk == export.pk and claimed.status == "running"
    assert services.export_claim_next() is None  # running: nobody else takes it
    assert services.exports_fail_stale() == 0
    Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert services.exports_fail_stale() == 1
    export.refresh_from_db()
    assert export.status == "failed" and export.error == "abandoned"


def test_export_detail_queries(api, admin_user, django_assert_max_num_queries):
    client = api(admin_user)
    export_id = client.post("/api/v1/exports/", {}, format="json").json()["id"]
    with django_assert_max_num_queries(3):
        assert client.get(f"/api/v1/exports/{export_id}/").status_code == 200
