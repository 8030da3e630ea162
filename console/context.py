"""The request an administrative write runs for, as the audit log needs it (the client's address).

Services get typed values, never a request; the address of whoever asked is the one thing the audit
log wants from the request, so `AuditContextMiddleware` puts it here for the length of the request.
A socket action or a management command has none (the row's `ip` stays empty).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str | None] = ContextVar("console_client_ip", default=None)


def client_ip_of(request: HttpRequest) -> str | None:
    # The socket's address, as the login throttles use it: a client's X-Forwarded-For is not trusted.
    return request.META.get("REMOTE_ADDR") or None


def current_ip() -> str | None:
    return _client_ip.get()


class AuditContextMiddleware:
    """Sync and async alike, so it adds no thread hop to an async request stack. The context variable
    follows the request into sync views: asgiref runs them in a copy of the caller's context."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        token = _client_ip.set(client_ip_of(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip_of(request))
        try:
            return await self.get_response(request)
        finally:
            _client_ip.reset(token)
