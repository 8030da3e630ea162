"""The export pages: /manage/export/ (company admins: the company's data) and /exports/mine/ (anyone:
their own messages). The button posts here without JavaScript; static/js/exports.js posts to the API
instead and follows the progress live."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from exports import selectors, services
from exports.models import Export
from virtual_office.errors import ServiceError
from virtual_office.tenancy import AuthenticatedHttpRequest

# The console's policy: no inline script or style; the page talks to this origin only (the API).
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def export_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    @login_required
    @ensure_csrf_cookie
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = PAGE_CSP
        return response

    return guarded


def _page(request: AuthenticatedHttpRequest, scope: str, template: str) -> HttpResponse:
    if request.method == "POST":
        try:
            services.export_request(actor=request.user, scope=scope)
            messages.success(request, "Your export is being built.")
        except ServiceError as error:
            messages.error(request, error.message)
        return redirect(request.path)
    rows = list(selectors.export_list(user=request.user, scope=scope))
    current = rows[0] if rows else None
    return render(request, template, {"section": "export", "exports": rows, "current": current, "scope": scope})


@export_page
def company_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if not (user.is_company_admin and user.company_id is not None):
        return render(request, "console/forbidden.html", status=403)
    return _page(request, Export.Scope.COMPANY, "exports/company.html")


@export_page
def my_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.user.company_id is None:
        return render(request, "office/no_company.html", status=403)
    return _page(request, Export.Scope.MINE, "exports/mine.html")
