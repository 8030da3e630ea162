"""The office page itself and its server-rendered partials."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from office.page import avatar_menu, office_context
from virtual_office.tenancy import AuthenticatedHttpRequest

__all__ = ["avatar_menu", "office", "office_content_security_policy"]


@login_required
@ensure_csrf_cookie
def office(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The office page: floor, people and message panels, first rendered here and then kept live."""
    if request.user.company_id is None:
        # A superuser made with createsuperuser belongs to no company: there is no floor to show, and
        # the socket would refuse them. Say so, and point staff to the admin.
        response = render(request, "office/no_company.html")
    else:
        response = render(request, "office.html", office_context(request.user))
    # Never cached: a stale page would start from an old floor (the scripts refetch on each hello).
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = office_content_security_policy(request)
    return response


def office_content_security_policy(request: HttpRequest) -> str:
    """The office page runs no inline script, handler or style: everything comes from our origin,
    and the socket goes to this same host."""
    socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            f"connect-src 'self' {socket_origin}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
