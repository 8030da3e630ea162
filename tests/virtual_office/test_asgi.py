"""The ASGI entry point: the one application for HTTP and WebSocket, ready for long-lived processes."""

import gc

import pytest
from channels.routing import ProtocolTypeRouter


def test_application_routes_http_and_websocket_and_freezes_startup_objects():
    from virtual_office import asgi

    assert isinstance(asgi.router, ProtocolTypeRouter)
    assert set(asgi.router.application_mapping) == {"http", "websocket"}
    # Django and the apps, loaded once, stay out of the cyclic collector's full passes.
    assert gc.get_freeze_count() > 10_000


@pytest.mark.django_db
async def test_healthz_is_answered_before_django(monkeypatch):
    """No request signal, no middleware: Django's handler is never called for /healthz."""
    from virtual_office import asgi

    async def django_must_not_run(scope, receive, send):
        raise AssertionError("Django handled /healthz")

    monkeypatch.setattr(asgi, "router", django_must_not_run)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await asgi.application({"type": "http", "path": "/healthz", "method": "GET", "headers": []}, receive, send)
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"db":"ok","channel_layer":"ok"}'
