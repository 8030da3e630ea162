"""An admin exports the company's data in a real browser against a real server: the console's button,
the progress polled live until done, and the download link serving the zip."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from exports.models import Export
from tests.e2e.conftest import session_cookie
from tests.factories import group_with, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_exports_the_company_and_downloads_the_zip(browser, live_server_url, admin_user, alice, lounge):
    post(group_with(admin_user, alice, title="Plans"), alice, "the plan")
    viewport = {"width": 1280, "height": 900}
    context = browser.new_context(base_url=live_server_url, viewport=viewport, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(admin_user), "url": live_server_url}])
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        page.goto("/manage/")
        page.get_by_role("link", name="Export").click()
        expect(page.locator("h1")).to_have_text("Export the company's data")
        page.get_by_role("button", name="Export company data").click()
        expect(page.locator("#export-state")).to_have_text("Done · 100%", timeout=15_000)
        expect(page.locator("#export-progress")).to_have_attribute("value", "100")
        link = page.get_by_role("link", name="Download the zip")
        expect(link).to_be_visible()
        with page.expect_download() as started:
            link.click()
        download = started.value
        with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
            assert "messages.json" in archive.namelist()
            messages = json.loads(archive.read("messages.json"))
        assert [m["body"] for m in messages] == ["the plan"]
        assert not errors, errors
    finally:
        context.close()
        for export in Export.objects.all():
            export.file.delete(save=False)  # the server wrote it under the media root
