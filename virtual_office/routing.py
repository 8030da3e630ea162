"""WebSocket routing and its middleware: Origin check, session or token auth."""

from urllib.parse import urlparse

from channels.auth import AuthMiddleware, get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from django.utils.crypto import constant_time_compare

from virtual_office.consumers import OfficeConsumer
from virtual_office.realtime import batched


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


class TokenOrOriginValidator(OriginValidator):
    """Browsers always send `Origin`; it must be an allowed host. Token clients may send none."""

    def valid_origin(self, parsed_origin) -> bool:  # noqa: ANN001
        if parsed_origin is None:
            return True  # checked again in __call__: only token-authenticated handshakes get here
        return super().valid_origin(parsed_origin)

    async def __call__(self, scope, receive, send):  # noqa: ANN001
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

    async def resolve_scope(self, scope: dict) -> None:
        scope["user"]._wrapped = await database_sync_to_async(get_user.func, thread_sensitive=False)(scope)


def session_auth_stack(inner):  # noqa: ANN001, ANN201
    """As `channels.auth.AuthMiddlewareStack`, with the user resolved in the worker pool."""
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))


class TokenAuthMiddleware(BaseMiddleware):
    """`Authorization: Token <key>` wins over the session cookie when present."""

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        auth = _header(scope, b"authorization") or ""
        if auth.lower().startswith("token "):
            key = auth.split(None, 1)[1].strip() if len(auth.split(None, 1)) == 2 else ""
            user = await _user_for_token(key) if key else None
            scope["user"] = user or AnonymousUser()
            if user is not None:
                scope["auth_token"] = key  # re-checked periodically: deleting the token closes the socket
        return await super().__call__(scope, receive, send)


def credentials_still_valid(
    *, session_keys: set[str], user_ids: set[int], token_keys: set[str]
) -> tuple[set[str], set[int], set[str]]:
    """Which of these sessions, users and tokens still authenticate: a few queries per check, however
    many sockets (open sockets whose credentials are gone get closed by
    `consumers.close_revoked_sockets`). A session counts only while it exists and its user's
    password is the one it was opened with, as for HTTP requests (a password change logs other
    sessions out)."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    if session_keys:
        if settings.SESSION_ENGINE.endswith((".backends.db", ".backends.cached_db")):
            store = Session.get_session_store_class()()
            rows = Session.objects.filter(session_key__in=session_keys, expire_date__gt=timezone.now()).values_list(
                "session_key", "session_data"
            )
            data = {key: store.decode(raw) for key, raw in rows}
        else:
            from importlib import import_module

            store_class = import_module(settings.SESSION_ENGINE).SessionStore
            data = {key: loaded for key in session_keys if (loaded := store_class(session_key=key).load())}
    else:
        data = {}
    owners = {key: _session_user_id(values) for key, values in data.items()}
    # One query for the sockets' users and the sessions' owners (the password is in the session hash).
    active = {
        user.pk: user
        for user in user_model.objects.filter(pk__in=user_ids | {u for u in owners.values() if u}, is_active=True)
        .only("pk", "password")
    }
    sessions = {
        key
        for key, values in data.items()
        if owners[key] in active and _session_hash_matches(active[owners[key]], values.get(HASH_SESSION_KEY, ""))
    }
    users = {pk for pk in active if pk in user_ids}
    tokens = set(Token.objects.filter(key__in=token_keys, user__is_active=True).values_list("key", flat=True))
    return sessions, users, tokens


def _session_user_id(values: dict) -> int | None:
    try:
        return int(values[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


def _session_hash_matches(user, session_hash: str) -> bool:  # noqa: ANN001
    """As `django.contrib.auth.get_user` checks it: the current hash, or one made with SECRET_KEY_FALLBACKS."""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(session_hash, expected) for expected in hashes)


class ServerSendMiddleware:
    """Outermost: keeps the server's own `send` in the scope as `server_send`.

    The hub writes each event frame to every local socket; for `websocket.send` the channels
    wrappers between the consumer and the server (session save, consumer send) do nothing but
    cost about a tenth of the fan-out, so `OfficeConsumer.write` goes straight to the server."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        return await self.inner({**scope, "server_send": send}, receive, send)


def allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    hosts += [urlparse(origin).netloc for origin in settings.CSRF_TRUSTED_ORIGINS]
    return hosts


websocket_application = ServerSendMiddleware(
    TokenOrOriginValidator(
        session_auth_stack(TokenAuthMiddleware(URLRouter([path("ws/", OfficeConsumer.as_asgi())]))),
        allowed_origins(),
    )
)
