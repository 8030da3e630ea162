"""Shared REST plumbing: the exception handler that keeps every error JSON with `detail` and `code`."""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from virtual_office.errors import ServiceError, is_unavailable

logger = logging.getLogger(__name__)


class ErrorOut(serializers.Serializer):
    """Every refusal: a sentence for a person and a code for a program (400s may carry field errors instead)."""

    detail = serializers.CharField()
    code = serializers.CharField()


_ERROR_MEANINGS = {
    400: "Invalid input: `{detail, code}`, or DRF field errors `{field: [messages]}`.",
    401: "Not authenticated (`code`: `not_authenticated` or `authentication_failed`).",
    403: "Authenticated, but not allowed to do this to an object you can see.",
    404: "No such object, or it belongs to another company.",
    409: "Refused because of the object's current state (`code` says which).",
    413: "The request or an attachment is too large.",
    415: "Unsupported media type (request or attachment).",
    429: "Too many attempts; retry after the `Retry-After` header's seconds.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error statuses, all with the `{detail, code}` shape."""
    return {code: OpenApiResponse(ErrorOut, description=_ERROR_MEANINGS[code]) for code in statuses}


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
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
            detail = response.data["detail"]
            response.data["code"] = getattr(detail, "code", None) or _default_code(exc)
        return response
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
