"""Core HTTP endpoints: API token login, health check, and the office page."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from virtual_office.errors import ServiceError


class LoginAddressThrottle(SimpleRateThrottle):
    scope = "login_address"

    def get_cache_key(self, request, view) -> str:  # noqa: ANN001
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountThrottle(SimpleRateThrottle):
    scope = "login_account"

    def get_cache_key(self, request, view) -> str | None:  # noqa: ANN001
        username = str(request.data.get("username", "")).strip().lower() if hasattr(request, "data") else ""
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
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()}), 400: None, 429: None},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise ServiceError("invalid_credentials", "Unable to log in with these credentials.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def healthz(request: HttpRequest) -> JsonResponse:
    result, ok = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        result["db"] = "ok"
    except Exception:
        result["db"], ok = "unreachable", False
    try:
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)("health.")
        async_to_sync(layer.send)(channel, {"type": "health.ping"})
        async_to_sync(layer.receive)(channel)
        result["channel_layer"] = "ok"
    except Exception:
        result["channel_layer"], ok = "unreachable", False
    return JsonResponse(result, status=200 if ok else 503)


@login_required
def office(request: HttpRequest) -> HttpResponse:
    from virtual_office.office_page import office_context

    return render(request, "office.html", office_context(request.user))
