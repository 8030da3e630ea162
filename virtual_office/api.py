"""Shared REST plumbing: the exception handler that keeps every error JSON with `detail` and `code`,
the error shapes and id fields the OpenAPI schema documents, and the schema class that adds the
responses every endpoint shares (unreadable bodies, CSRF refusals)."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from virtual_office.errors import ServiceError, is_unavailable

logger = logging.getLogger(__name__)


class ErrorOut(serializers.Serializer):
    """Every refusal: a sentence for a person and a code for a program (400s may carry field errors instead)."""

    detail = serializers.CharField()
    code = serializers.CharField()


class FieldErrorsOut(serializers.Serializer):
    """DRF's field errors: `{field: [messages]}` for each invalid field (`non_field_errors` for the
    whole body); a list or nested field gives `{index or sub-field: [messages]}` instead."""


class FieldErrorsOutSchema(OpenApiSerializerExtension):
    target_class = FieldErrorsOut

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict:
        return {
            "type": "object",
            "description": " ".join((FieldErrorsOut.__doc__ or "").split()),
            "minProperties": 1,
            "additionalProperties": {
                "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
            },
        }


BadRequestOut = PolymorphicProxySerializer(
    component_name="BadRequestOut",
    serializers=[ErrorOut, FieldErrorsOut],
    resource_type_field_name=None,
)

_ERROR_MEANINGS = {
    400: "Invalid input: `{detail, code}`, or DRF field errors `{field: [messages]}`.",
    401: "Not authenticated (`code`: `not_authenticated` or `authentication_failed`).",
    403: "Authenticated, but not allowed to do this (also: a session request without its CSRF token).",
    404: "No such object, or it belongs to another company.",
    409: "Refused because of the object's current state (`code` says which).",
    413: "The request or an attachment is too large.",
    415: "Unsupported media type (request or attachment).",
    429: "Too many attempts; retry after the `Retry-After` header's seconds.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error statuses: `{detail, code}`, and for 400 also field errors."""
    return {
        code: OpenApiResponse(BadRequestOut if code == 400 else ErrorOut, description=_ERROR_MEANINGS[code])
        for code in statuses
    }


class OfficeAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses that follow from how every view reads its
    request rather than from what it does (each view documents its own):

    - a request body can be unreadable (400), too large (413) or of a type no parser takes (415);
    - a session-authenticated write can lack its CSRF token (403), and for a POST the CSRF check
      reads the form, so an unreadable one answers 400 even where the view takes no body;
    - a PATCH whose input serializer sets `patch_is_partial = False` is validated whole, so its
      required fields stay required in the schema (drf-spectacular assumes every PATCH partial).
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or self.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return operation
        shared: list[int] = []
        if "requestBody" in operation:
            shared += [400, 413, 415]
        if any(issubclass(auth, SessionAuthentication) for auth in self.view.authentication_classes):
            shared += [403, 400] if self.method == "POST" else [403]
        responses = operation.setdefault("responses", {})
        for code in shared:
            if str(code) not in responses:
                component = self.resolve_serializer(BadRequestOut if code == 400 else ErrorOut, "response")
                responses[str(code)] = {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": _ERROR_MEANINGS[code],
                }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_request_for_media_type(self, serializer: object, direction: str = "request") -> tuple:
        if self.method == "PATCH" and getattr(serializer, "patch_is_partial", True) is False:
            self.method = "PUT"  # documented as it is validated: whole, required fields and all
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF answers 403 when its first authenticator (session) has no challenge; the contract says 401.
        response = Response(
            {"detail": str(exc.detail), "code": getattr(exc.detail, "code", None) or exc.default_code},
            status=status.HTTP_401_UNAUTHORIZED,
        )
        response["WWW-Authenticate"] = 'Token realm="api"'
        return response
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": " ".join(exc.messages), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    body_error = _body_error(exc)
    if body_error is not None:
        return body_error
    handled = drf_exception_handler(exc, context)
    if handled is not None:
        if isinstance(handled.data, dict) and "detail" in handled.data and "code" not in handled.data:
            detail = handled.data["detail"]
            handled.data["code"] = getattr(detail, "code", None) or _default_code(exc)
        return handled
    if is_unavailable(exc):
        logger.warning("API: a shared service is away: %r", exc)
        response = Response(
            {"detail": "The server cannot do this right now; try again in a few seconds.", "code": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, DatabaseError):
        logger.exception("database error in API")
        return Response(
            {"detail": "The database could not complete this request; try again.", "code": "database_error"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return None


def _body_error(exc: Exception) -> Response | None:
    """A request body Django refused to read. DRF's parsers turn most malformed bodies into a
    ParseError, but Django's limits (too many fields or files, too large) pass through them, and
    reading `request.POST` outside a parser (the session CSRF check) raises Django's own errors."""
    if isinstance(exc, TooManyFieldsSent):
        detail, code, status_code = "The request has too many form fields.", "too_many_fields", 400
    elif isinstance(exc, TooManyFilesSent):
        detail, code, status_code = "The request has too many files.", "too_many_files", 400
    elif isinstance(exc, RequestDataTooBig):
        detail, code, status_code = "The request body is too large.", "request_too_large", 413
    elif isinstance(exc, MultiPartParserError):
        detail, code, status_code = f"The multipart body could not be read: {exc}", "parse_error", 400
    elif isinstance(exc, UnreadablePostError):
        detail, code, status_code = "The request body could not be read.", "parse_error", 400
    else:
        return None
    return Response({"detail": detail, "code": code}, status=status_code)


def _default_code(exc: Exception) -> str:
    if isinstance(exc, exceptions.APIException):
        return exc.default_code
    return "error"
