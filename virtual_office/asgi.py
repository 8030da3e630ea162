"""ASGI entry point: Django for HTTP, the office consumer for `/ws/`."""

import gc
import os
import sys

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "virtual_office.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from virtual_office.daphne_requests import leave_request_bodies_to_django  # noqa: E402
from virtual_office.routing import websocket_application  # noqa: E402
from virtual_office.views import healthz_asgi  # noqa: E402

if settings.GIL_SWITCH_INTERVAL > 0:
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL)  # settings.py says why

leave_request_bodies_to_django()  # under daphne: a malformed multipart body gets our JSON 400, not Twisted's empty one

http_app = django_asgi_app
if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

router = ProtocolTypeRouter({"http": http_app, "websocket": websocket_application})


async def application(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """/healthz is answered here, before Django (`views.healthz_asgi`); everything else is routed."""
    if scope["type"] == "http" and scope["path"] in ("/healthz", "/healthz/"):
        return await healthz_asgi(scope, receive, send)
    return await router(scope, receive, send)


# Everything loaded so far (Django, DRF, the apps: about 120,000 objects) lives as long as the
# process: keep it out of the cyclic collector. A full collection then walks only what came later
# (about 200 objects per open socket), which shortens the pauses it puts into the fan-out.
gc.collect()
gc.freeze()
