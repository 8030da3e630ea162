"""The request an administrative write runs for, as the audit log needs it (the client's address).

Services get typed values, never a request; the address of whoever asked is the one thing the audit
log wants from the request, so `AuditContextMiddleware` puts it here for the length of the request.
A socket action or a management command has none (the row's `ip` stays empty).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str | None] = ContextVar("console_client_ip", default=None)


def client_ip_of(request: HttpRequest) -> str | None:
    # The socket's address, as the login throttles use it: a client's X-Forwarded-For is not trusted.
    return request.META.get("REMOTE_ADDR") or None


def current_ip() -> str | None:
    return _client_ip.get()


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip_of(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
