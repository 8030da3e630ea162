"""Core HTTP endpoints: API token login, health check, and the office page."""

from collections.abc import Callable, Mapping

import orjson
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from virtual_office.api import errors
from virtual_office.errors import ServiceError
from virtual_office.health import health


class LoginThrottle(SimpleRateThrottle):
    """A throttle of sign-in attempts (the API's token login, and the browser's in `accounts`)."""

    # Set by SimpleRateThrottle.__init__ from the scope's rate (DEFAULT_THROTTLE_RATES), which
    # djangorestframework-stubs does not declare.
    num_requests: int
    duration: int


class LoginAddressThrottle(LoginThrottle):
    scope = "login_address"

    def get_ident(self, request: Request) -> str:
        # DRF trusts a client's X-Forwarded-For unless NUM_PROXIES is set, which would let anyone
        # dodge this throttle by sending a new header each time: use the socket's address instead.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR") or ""
        return super().get_ident(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountThrottle(LoginThrottle):
    scope = "login_account"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        username = str(data.get("username", "")).strip().lower() if isinstance(data, Mapping) else ""
        return self.cache_format % {"scope": self.scope, "ident": username[:150]} if username else None


class TokenIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class AuthTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle, LoginAccountThrottle]

    @extend_schema(
        request=TokenIn,
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()}), **errors(400, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise ServiceError("invalid_credentials", "Unable to log in with these credentials.")
        # A sign-in like the browser's: the audit log and last_login hear of it (apps listen to Django's
        # signal; a failed attempt already sent user_login_failed from authenticate()).
        user_logged_in.send(sender=type(user), request=request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


async def healthz(request: HttpRequest) -> JsonResponse:
    """/healthz through Django (the test client, and servers that mount Django alone). Under a server,
    `asgi.py` answers it before Django: see `healthz_asgi`."""
    status, result = await health()
    return JsonResponse(result, status=status)


async def healthz_asgi(scope: Mapping[str, object], receive: Callable, send: Callable) -> None:
    """/healthz as a bare ASGI app, ahead of Django's request handling: no request signals, no
    middleware, no hop to the thread that serves sockets' actions (busy in a reconnect storm), so
    the answer waits only for its own two probes."""
    status, result = await health()
    body = orjson.dumps(result)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for URLs no view matched: JSON under /api/ (clients parse it), the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view runs (e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": "The request body is too large.", "code": "request_too_large"}, status=413)
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to do this.", "code": "permission_denied"}, status=403
        )
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Unhandled errors: JSON without a stack trace under /api/, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side; please try again.", "code": "server_error"}, status=500
        )
    return defaults.server_error(request)


