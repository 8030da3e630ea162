"""Malformed request bodies get a 400 (or 413) JSON `{detail, code}` on every endpoint, in process and
behind both real servers (daphne, which `make run` uses, and uvicorn, as production runs it)."""

import json
import os
import urllib.error
import urllib.request
import uuid
from email.message import Message

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import group_with, post
from tests.servers import free_port, run_server
from virtual_office import views

GARBAGE = [
    # (Content-Type, body, code)
    ("multipart/form-data", b"garbage", "parse_error"),  # no boundary at all
    ("multipart/form-data; boundary=", b"garbage", "parse_error"),  # an empty one
    ("application/json", b'{"body": ', "parse_error"),
    (
        "multipart/form-data; boundary=x",
        b"".join(b'--x\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(1100)) + b"--x--",
        "too_many_fields",
    ),
    (
        "multipart/form-data; boundary=x",
        b"".join(
            b'--x\r\nContent-Disposition: form-data; name="attachments"; filename="f%d.txt"\r\n\r\nv\r\n' % i
            for i in range(110)
        )
        + b"--x--",
        "too_many_files",
    ),
]


@pytest.fixture(autouse=True)
def private_throttle_cache(monkeypatch):
    """The token endpoint is among those posted to: its login budget here is this test's alone."""
    cache = LocMemCache(f"throttle-{uuid.uuid4()}", {})
    monkeypatch.setattr(views.LoginAddressThrottle, "cache", cache)
    monkeypatch.setattr(views.LoginAccountThrottle, "cache", cache)


def write_endpoints(alice, bob, space) -> list[tuple[str, str]]:
    conversation = group_with(alice, bob)
    message = post(conversation, alice)
    return [
        ("POST", "/api/v1/auth/token/"),
        ("POST", f"/api/v1/conversations/{conversation.id}/messages/"),
        ("POST", "/api/v1/conversations/"),
        ("PATCH", f"/api/v1/conversations/{conversation.id}/"),
        ("POST", f"/api/v1/conversations/{conversation.id}/read/"),
        ("PATCH", f"/api/v1/messages/{message.id}/"),
        ("POST", f"/api/v1/messages/{message.id}/reactions/"),
        ("PUT", "/api/v1/presence/"),
        ("POST", "/api/v1/spaces/"),
        ("PATCH", f"/api/v1/spaces/{space.id}/"),
        ("POST", "/api/v1/calls/"),
        ("POST", "/api/v1/teleports/"),
    ]


def assert_json_error(response, status: int, code: str | None, where: str) -> None:
    """`{detail, code}` with that code; with code None, DRF's field errors `{field: [messages]}` also do."""
    assert response.status_code == status, (where, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", where
    body = response.json()
    if code is None and "detail" not in body:
        assert body and all(isinstance(v, list) and v for v in body.values()), (where, body)
        return
    assert isinstance(body.get("detail"), str) and body["detail"] and body["code"], (where, body)
    if code is not None:
        assert body["code"] == code, (where, body)


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "body", "code"), GARBAGE)
def test_a_malformed_body_is_json_on_every_write_endpoint(alice, bob, space, api, content_type, body, code):
    alice.is_company_admin = True
    alice.save()
    client = api(alice)
    for method, path in write_endpoints(alice, bob, space):
        response = client.generic(method, path, body, content_type=content_type)
        assert_json_error(response, 400, code, f"{method} {path}")


@pytest.mark.django_db
def test_a_session_client_with_a_malformed_multipart_body_gets_json(alice, bob):
    conversation = group_with(alice, bob)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")
    token = client.cookies["csrftoken"].value
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    for headers in ({"HTTP_X_CSRFTOKEN": token}, {}):  # the CSRF check itself reads the form
        response = client.generic("POST", url, b"garbage", content_type="multipart/form-data", **headers)
        assert_json_error(response, 400, "parse_error", str(headers))


@pytest.mark.django_db
def test_a_form_field_over_the_memory_limit_is_413_json(alice, bob, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    conversation = group_with(alice, bob)
    body = b'--x\r\nContent-Disposition: form-data; name="body"\r\n\r\n' + b"a" * 2000 + b"\r\n--x--"
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    response = api(alice).generic("POST", url, body, content_type="multipart/form-data; boundary=x")
    assert_json_error(response, 413, "request_too_large", "413")


# --- real servers -----------------------------------------------------------------------------


def raw_post(url: str, token: str, content_type: str, body: bytes) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Authorization": f"Token {token}", "Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgres" not in os.environ.get("DATABASE_URL", ""), reason="the server shares the test database: PostgreSQL"
)
@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_behind_a_real_server_a_malformed_multipart_body_is_json(alice, bob, kind):
    assert connection.settings_dict["NAME"].startswith("test_")
    conversation = group_with(alice, bob)
    token = Token.objects.create(user=alice).key
    with run_server(free_port(), {"LOG_LEVEL": "WARNING"}, kind=kind) as server:
        url = f"{server.http_url}/api/v1/conversations/{conversation.id}/messages/"
        for content_type, body in [
            ("multipart/form-data", b"garbage"),
            ("multipart/form-data; boundary=x", b"garbage"),
            ("multipart/form-data; boundary=x", b"\x00" * 100),
            ("multipart/form-data; boundary=", b""),
        ]:
            status, headers, content = raw_post(url, token, content_type, body)
            where = f"{kind}: {content_type} {body[:10]!r}"
            assert status == 400 and headers.get("Content-Type") == "application/json", (where, status, content)
            error = json.loads(content)
            assert error["detail"] and error["code"], where
        # A well-formed upload still goes through (the body is parsed once, by Django).
        upload = (
            b'--x\r\nContent-Disposition: form-data; name="body"\r\n\r\nwith a file\r\n'
            b'--x\r\nContent-Disposition: form-data; name="attachments"; filename="notes.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nhello\r\n--x--\r\n"
        )
        status, _, content = raw_post(url, token, "multipart/form-data; boundary=x", upload)
        assert status == 201, content
        message = json.loads(content)
        assert message["body"] == "with a file" and [a["name"] for a in message["attachments"]] == ["notes.txt"]
