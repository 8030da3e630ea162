"""WebSocket routing and its middleware: Origin check, session or token auth."""

import asyncio
import weakref
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from channels.auth import AuthMiddleware, get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import path

from virtual_office.realtime.batch import batched
from virtual_office.realtime.config import realtime_setting
from virtual_office.realtime.consumer import OfficeConsumer

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope
    from channels.routing import _ExtendedURLPattern


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


class TokenOrOriginValidator(OriginValidator):
    """Browsers always send `Origin`; it must be an allowed host. Token clients may send none."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True  # checked again in __call__: only token-authenticated handshakes get here
        return super().valid_origin(parsed_origin)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and _header(scope, b"origin") is None:
            auth = _header(scope, b"authorization") or ""
            if not auth.lower().startswith("token "):
                from channels.security.websocket import WebsocketDenier

                denier = WebsocketDenier()
                return await denier(scope, receive, send)
        return await super().__call__(scope, receive, send)


# Handshakes authenticate in the worker pool, beside each other, not one by one on the thread that
# serves socket actions (a reconnect storm authenticates hundreds of sockets at once).
# Sockets opening at once are authenticated together: one query for all their tokens.
@batched
def _user_for_token(keys: list[str]) -> list:
    from rest_framework.authtoken.models import Token

    users = {token.key: token.user for token in Token.objects.select_related("user").filter(key__in=set(keys))}
    return [user if (user := users.get(key)) is not None and user.is_active else None for key in keys]


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, resolving the session's user in the worker pool."""

    async def resolve_scope(self, scope: "_ChannelScope") -> None:
        user = scope["user"]
        assert user is not None  # the lazy user that populate_scope put there
        # Channels' get_user is a database_sync_to_async: `.func` is the function it wraps (types-channels
        # types get_user as a coroutine function).
        user._wrapped = await database_sync_to_async(get_user.func, thread_sensitive=False)(scope)  # type: ignore[attr-defined]


def session_auth_stack(inner):
    """As `channels.auth.AuthMiddlewareStack`, with the user resolved in the worker pool."""
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))


class TokenAuthMiddleware(BaseMiddleware):
    """`Authorization: Token <key>` wins over the session cookie when present."""

    async def __call__(self, scope, receive, send):
        auth = _header(scope, b"authorization") or ""
        if auth.lower().startswith("token "):
            key = auth.split(None, 1)[1].strip() if len(auth.split(None, 1)) == 2 else ""
            user = await _user_for_token(key) if key else None
            scope["user"] = user or AnonymousUser()
            if user is not None:
                scope["auth_token"] = key  # re-checked periodically: deleting the token closes the socket
        return await super().__call__(scope, receive, send)


class ServerSendMiddleware:
    """Outermost: keeps the server's own `send` in the scope as `server_send`.

    The hub writes each event frame to every local socket; for `websocket.send` the channels
    wrappers between the consumer and the server (session save, consumer send) do nothing but
    cost about a tenth of the fan-out, so `OfficeConsumer.write` goes straight to the server."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        return await self.inner({**scope, "server_send": send}, receive, send)


# Channels' routing is Django's `path` with an ASGI app, which django-stubs types for views only (and
# types-channels as a pattern type of its own).
WEBSOCKET_ROUTES: "list[_ExtendedURLPattern | URLRouter]" = [path("ws/", OfficeConsumer.as_asgi())]  # type: ignore[arg-type, list-item]


def allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    hosts += [urlparse(origin).netloc for origin in settings.CSRF_TRUSTED_ORIGINS]
    return hosts


class OpenGate:
    """At most WS_OPEN_CONCURRENCY sockets of this process between their handshake and their `hello`.

    In a reconnect storm thousands of handshakes arrive at once; each one's authentication and
    opening is a chain of short steps, and with all of them ready at once the event loop serves
    every one of them before anything else: `/healthz`, the actions of sockets already open. Past the
    limit a handshake waits here (the client sees a slower handshake, not a refusal); the sockets let
    through still open together and share their queries (`batched`). The consumer frees its slot once
    `hello` went out (`scope["open_slot_release"]`), or when it ends, whichever comes first."""

    def __init__(self, inner):
        self.inner = inner
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(int(realtime_setting("WS_OPEN_CONCURRENCY")))
        await gate.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                gate.release()

        try:
            return await self.inner(dict(scope, open_slot_release=release), receive, send)
        finally:
            release()


websocket_application = OpenGate(
    ServerSendMiddleware(
        TokenOrOriginValidator(
            session_auth_stack(TokenAuthMiddleware(URLRouter(WEBSOCKET_ROUTES))),
            allowed_origins(),
        )
    )
)
