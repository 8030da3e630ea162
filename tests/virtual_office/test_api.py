"""Core HTTP endpoints: token login and its throttles, health check, OpenAPI, and JSON-only errors."""

import time
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory
from virtual_office import views

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def private_throttle_cache(monkeypatch):
    """Each test counts login attempts in its own cache (the shared Redis cache serves other runs too)."""
    cache = LocMemCache(f"throttle-{uuid.uuid4()}", {})
    monkeypatch.setattr(views.LoginAddressThrottle, "cache", cache)
    monkeypatch.setattr(views.LoginAccountThrottle, "cache", cache)
    return cache


def login(username: str, password: str, address: str = "10.0.0.1", **extra):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **extra
    )


# --- auth/token -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_login_returns_a_token_that_authenticates(alice):
    response = login("alice", PASSWORD)
    assert response.status_code == 200, response.json()
    key = response.json()["token"]
    assert Token.objects.get(user=alice).key == key
    assert login("alice", PASSWORD).json()["token"] == key  # the same token again, not a second one
    me = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200 and me.json()["id"] == alice.id


@pytest.mark.django_db
def test_session_login_authenticates_the_api(client, alice):
    assert client.login(username="alice", password=PASSWORD)
    assert client.get("/api/v1/me/").json()["username"] == "alice"


@pytest.mark.django_db
def test_session_writes_need_csrf(alice):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password=PASSWORD)
    response = client.put("/api/v1/presence/", {"status": "busy"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_token_login_refuses_bad_credentials(alice, payload):
    response = APIClient().post(TOKEN_URL, payload, format="json", REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 400
    assert response.json() == {"detail": "Unable to log in with these credentials.", "code": "invalid_credentials"}
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_token_login_refuses_inactive_user(alice):
    alice.is_active = False
    alice.save()
    assert login("alice", PASSWORD).status_code == 400
    assert not Token.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload, field",
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "x" * 151, "password": PASSWORD}, "username"),
        ({"username": ["alice"], "password": PASSWORD}, "username"),
    ],
)
def test_token_login_validates_fields(alice, payload, field):
    response = APIClient().post(TOKEN_URL, payload, format="json", REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 400
    assert field in response.json()
    assert not Token.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"alice"', "{not json"])
def test_token_login_with_a_body_that_is_not_an_object_is_400_json(alice, body):
    response = APIClient().post(TOKEN_URL, body, content_type="application/json", REMOTE_ADDR="10.0.0.4")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_token_login_is_throttled_per_account(alice):
    # Ten failed guesses from ten addresses exhaust alice's account budget (10/min)...
    for n in range(10):
        assert login("alice", "wrong", address=f"10.1.0.{n}").status_code == 400
    # ...so even the right password from a fresh address is refused for now, with JSON.
    response = login("ALICE ", PASSWORD, address="10.1.1.1")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and "detail" in response.json()
    assert int(response["Retry-After"]) > 0
    assert not Token.objects.exists()
    # Another account is not affected.
    UserFactory(company=alice.company, username="bob")
    assert login("bob", PASSWORD, address="10.1.1.1").status_code == 200


@pytest.mark.django_db
def test_token_login_is_throttled_per_address(alice):
    for n in range(30):
        assert login(f"guess{n}", "wrong", address="10.2.0.1").status_code == 400
    response = login("alice", PASSWORD, address="10.2.0.1")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    # Another address still gets in.
    assert login("alice", PASSWORD, address="10.2.0.2").status_code == 200


@pytest.mark.django_db
def test_address_throttle_ignores_a_forged_forwarded_for_header(alice):
    for n in range(30):
        response = login(f"guess{n}", "wrong", address="10.3.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 400
    response = login("alice", PASSWORD, address="10.3.0.1", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


# --- anonymous: 401 JSON ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_token_is_401_json(alice):
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_anonymous_is_401_json_with_a_challenge():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Token")


# --- health, schema, docs -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_db_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "channel_layer": "ok"}


@pytest.mark.django_db
def test_healthz_names_the_failing_part(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.json() == {"db": "ok", "channel_layer": "unreachable"}


@pytest.mark.django_db
def test_healthz_names_an_unreachable_database(client, settings, monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent/dir/db.sqlite3")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["db"] in {"unreachable", "timeout"}


@pytest.mark.django_db
def test_openapi_schema_lists_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/token/", "/api/v1/me/", "/api/v1/users/", "/api/v1/presence/", "/api/v1/spaces/",
        "/api/v1/spaces/{space_id}/", "/api/v1/spaces/{space_id}/enter/", "/api/v1/spaces/{space_id}/leave/",
        "/api/v1/spaces/{space_id}/conversation/", "/api/v1/spaces/{space_id}/meeting/",
        "/api/v1/conversations/", "/api/v1/conversations/direct/", "/api/v1/conversations/{conversation_id}/",
        "/api/v1/conversations/{conversation_id}/messages/", "/api/v1/conversations/{conversation_id}/changes/",
        "/api/v1/conversations/{conversation_id}/read/", "/api/v1/messages/{message_id}/",
        "/api/v1/messages/{message_id}/reactions/", "/api/v1/messages/{message_id}/reactions/{emoji}/",
    ]:
        assert path in paths, path


@pytest.mark.django_db
def test_openapi_schema_describes_errors(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["components"]["schemas"]["ErrorOut"]["properties"]) == {"detail", "code"}
    post = schema["paths"]["/api/v1/conversations/{conversation_id}/messages/"]["post"]["responses"]
    assert {"201", "200", "400", "401", "403", "404", "409", "413", "415"} <= set(post)
    assert post["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]


@pytest.mark.django_db
def test_swagger_ui_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# --- errors are JSON, never HTML and never 500 ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/conversations/abc/",
        "/api/v1/spaces/1/unknown/",
        "/api/v2/me/",
    ],
)
def test_unknown_api_url_is_json_404(api, alice, path):
    for client in (api(alice), APIClient()):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_id_beyond_bigint_is_404_not_500(api, alice):
    response = api(alice).get("/api/v1/conversations/99999999999999999999999/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_unknown_page_outside_the_api_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_malformed_json_is_400_json(api, alice):
    response = api(alice).post("/api/v1/conversations/", "{bad", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_unsupported_media_type_is_415_json(api, alice):
    response = api(alice).put("/api/v1/presence/", "status=busy", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_wrong_method_is_405_json(api, alice):
    response = api(alice).delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_unhandled_error_under_api_is_json_without_a_trace(alice, monkeypatch):
    from django.test import Client

    from presence.api import views as presence_views

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(presence_views.selectors, "user_list", boom)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/api/v1/users/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"
    assert b"secret internals" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("format_", ["json", "multipart"])
def test_body_over_the_upload_limit_is_413_json(alice, settings, format_):
    from django.test import Client

    from tests.factories import group_with

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    conversation = group_with(alice, UserFactory(company=alice.company))
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    if format_ == "json":
        response = client.post(url, '{"body": "%s"}' % ("x" * 5000), content_type="application/json")
    else:
        response = client.post(url, {"body": "x" * 5000})
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "request_too_large"}
    assert not conversation.messages.exists()


GARBAGE = [
    [],
    "text",
    None,
    {"body": {"nested": [1, {"x": None}]}, "title": 10**40, "participants": [[1]], "user": {"id": 1}},
    {"seq": 10**40, "emoji": None, "status": {"a": 1}, "name": None, "capacity": 10**40, "reply_to": 10**40},
    {"client_id": 1.5, "attachments": [None], "is_private": [], "x": "1e3", "kind": False},
]


@pytest.mark.django_db
@pytest.mark.parametrize("payload", GARBAGE, ids=[f"garbage{n}" for n in range(len(GARBAGE))])
def test_garbage_never_500s_and_is_json(api, alice, bob, admin_user, payload):
    from messaging import services as messaging_services
    from spaces import services as space_services
    from tests.factories import SpaceFactory, post

    space = SpaceFactory(company=alice.company, name="Lounge")
    space_services.space_enter(actor=alice, space=space)
    conversation = messaging_services.group_create(actor=alice, title="G", participant_ids=[bob.id])
    message = post(conversation, alice, "hi")
    ids = {"space": space.id, "conversation": conversation.id, "message": message.id}
    endpoints = [
        ("put", "/presence/"), ("post", "/spaces/"), ("patch", "/spaces/{space}/"), ("post", "/spaces/{space}/enter/"),
        ("post", "/spaces/{space}/meeting/"), ("post", "/conversations/"), ("post", "/conversations/direct/"),
        ("patch", "/conversations/{conversation}/"), ("post", "/conversations/{conversation}/messages/"),
        ("post", "/conversations/{conversation}/read/"), ("patch", "/messages/{message}/"),
        ("post", "/messages/{message}/reactions/"),
    ]
    for user in (alice, admin_user):
        for method, path in endpoints:
            response = getattr(api(user), method)("/api/v1" + path.format(**ids), payload, format="json")
            assert response.status_code < 500, (method, path, response.content)
            assert response.status_code == 204 or response["Content-Type"] == "application/json", (method, path)


@pytest.mark.django_db
def test_redis_away_is_a_503_unavailable_not_a_500(alice, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    away = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    monkeypatch.setattr(views.LoginAddressThrottle, "cache", away)
    response = login("alice", PASSWORD)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable" and response["Retry-After"]


@pytest.mark.django_db(transaction=True)
def test_healthz_keeps_one_probe_connection_per_part(client):
    """Each probe reuses its part's connection (a storm leaves no time to connect anew), and no
    probe takes a connection of Django's."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL backends")
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'healthz' AND datname = current_database()"
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_healthz_recovers_when_its_part_comes_back(client, settings):
    good = settings.REDIS_URL
    assert client.get("/healthz").status_code == 200
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert client.get("/healthz").json()["channel_layer"] == "unreachable"
    settings.REDIS_URL = good
    assert client.get("/healthz").json() == {"db": "ok", "channel_layer": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_from_a_recent_probe_without_waiting_on_anything(client):
    """Once asked, each part is probed in the background; the next answer needs no turn of the event
    loop (a storm-busy loop took seconds per turn), so the coroutine finishes at its first step."""
    from virtual_office import health

    assert client.get("/healthz").status_code == 200  # the first answer probes there and then
    coroutine = health.health()
    with pytest.raises(StopIteration) as finished:
        coroutine.send(None)
    assert finished.value.value == (200, {"db": "ok", "channel_layer": "ok"})
