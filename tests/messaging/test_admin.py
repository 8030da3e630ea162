"""Operators reach attachments through the admin (the files are not public)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from messaging import services
from messaging.models import Attachment
from tests.factories import UserFactory, group_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_operators_download_attachments_from_the_admin(alice, bob):
    conversation = group_with(alice, bob)
    services.message_send(
        actor=alice, conversation=conversation, body="notes",
        files=[SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")],
    )
    attachment = Attachment.objects.get()
    operator = UserFactory(company=None, username="root", is_staff=True, is_superuser=True)
    page = logged_in(operator).get(f"/admin/messaging/attachment/{attachment.id}/change/")
    link = f"/admin/messaging/attachment/{attachment.id}/download/"
    assert page.status_code == 200 and link in page.text and "/media/" not in page.text
    response = logged_in(operator).get(link)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"hello"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    # Staff without the view permission, and people who are not staff, get nothing.
    clerk = UserFactory(company=None, username="clerk", is_staff=True)
    assert logged_in(clerk).get(link).status_code == 403
    assert logged_in(alice).get(link).status_code == 302  # to the admin login
    assert logged_in(operator).get("/admin/messaging/attachment/add/").status_code == 403
