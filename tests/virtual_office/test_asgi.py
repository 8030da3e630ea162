"""The ASGI entry point: the one application for HTTP and WebSocket, ready for long-lived processes."""

import gc

from channels.routing import ProtocolTypeRouter


def test_application_routes_http_and_websocket_and_freezes_startup_objects():
    from virtual_office import asgi

    assert isinstance(asgi.application, ProtocolTypeRouter)
    assert set(asgi.application.application_mapping) == {"http", "websocket"}
    # Django and the apps, loaded once, stay out of the cyclic collector's full passes.
    assert gc.get_freeze_count() > 10_000
