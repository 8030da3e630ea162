"""The export pages: /manage/export/ for company admins, /exports/mine/ for anyone signed in."""

from __future__ import annotations

import pytest
from django.test import Client

from exports import services
from exports.models import Export

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_console_page_is_for_company_admins(admin_user, alice):
    response = _client(admin_user).get("/manage/export/")
    assert response.status_code == 200
    assert b'id="export-form"' in response.content and b'data-scope="company"' in response.content
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert _client(alice).get("/manage/export/").status_code == 403
    assert Client().get("/manage/export/").status_code == 302  # to the sign-in page


def test_posting_the_form_queues_an_export_without_javascript(admin_user):
    response = _client(admin_user).post("/manage/export/")
    assert response.status_code == 302
    assert Export.objects.get().scope == "company"
    services.exports_run_pending()
    page = _client(admin_user).get("/manage/export/")
    assert b'data-status="done"' in page.content
    assert f"/api/v1/exports/{Export.objects.get().id}/download/".encode() in page.content


def test_a_member_prepares_their_own_download(alice, admin_user):
    client = _client(alice)
    assert client.get("/exports/mine/").status_code == 200
    client.post("/exports/mine/")
    export = Export.objects.get()
    assert export.scope == "mine" and export.requested_by == alice
    # The admin's console page lists company exports only, never someone's own.
    assert f'data-export-row="{export.id}"'.encode() not in _client(admin_user).get("/manage/export/").content


def test_the_office_offers_download_my_messages(alice):
    response = _client(alice).get(f"/office/people/{alice.id}/menu/")
    assert response.status_code == 200
    assert b'href="/exports/mine/"' in response.content
