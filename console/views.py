"""The company console's pages (`/manage/`), the invitation sign-up page and the company logo.

Pages are rendered on the server; each action is a plain form POST that calls a service, then
redirects back with a message (so everything works without JavaScript). The floor editor's drags
PATCH the spaces API (`/api/v1/spaces/{id}/`), the same path as any other space edit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from console import selectors, services
from console.forms import AuditFilterForm, CompanySettingsForm, InviteForm, SignUpForm, SpaceForm
from console.models import Invitation
from console.permissions import access_invitation, access_person, is_console_admin
from spaces import services as space_services
from spaces.models import Space
from spaces.permissions import access_space
from virtual_office.errors import ServiceError
from virtual_office.tenancy import AuthenticatedHttpRequest

AUDIT_PAGE_SIZE = 50
PEOPLE_PAGE_SIZE = 100


# As strict as the office page's: no inline script, handler or style; everything from our origin. The
# console opens no socket, so connections go to this origin only (the spaces API).
CONSOLE_CSP = "; ".join(
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


def _secured(response: HttpResponseBase, request: HttpRequest) -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = CONSOLE_CSP
    return response


def console_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A console page or action: signed in (else the login page), a company admin (else a 403 page
    saying so), the office's strict CSP, never cached. A refused service call becomes a message on
    the page it came from."""

    @wraps(view)
    @login_required
    @ensure_csrf_cookie
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_console_admin(request.user):
            return _secured(render(request, "console/forbidden.html", status=403), request)
        try:
            response = view(request, *args, **kwargs)
        except ServiceError as error:
            if error.status == 404:
                raise Http404(error.message) from None
            messages.error(request, error.message)
            response = _back(request, _page_of(request.path))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            response = _back(request, _page_of(request.path))
        return _secured(response, request)

    return guarded


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A console page: its context, plus the company's settings row for the header (its logo)."""
    context.setdefault("row", selectors.company_settings_get(company_id=_company_id(request)))
    return render(request, template, context)


def _company_id(request: HttpRequest) -> int:
    company_id = request.user.company_id  # type: ignore[union-attr]
    assert company_id is not None
    return company_id


def _page_of(path: str) -> str:
    """The page an action's refusal is shown on (actions are POST-only URLs)."""
    if path.startswith("/manage/spaces/"):
        return reverse("console-spaces")
    if path.startswith(("/manage/people/", "/manage/invitations/")):
        return reverse("console-people")
    return path


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    # Only back to a console page of ours, never elsewhere.
    return redirect(target if target.startswith("/manage/") else fallback)


@console_page
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return redirect("console-people")


# -- people -----------------------------------------------------------------------------------


@console_page
def people(request: AuthenticatedHttpRequest) -> HttpResponse:
    company_id = _company_id(request)
    q = request.GET.get("q", "")[:100]
    status = request.GET.get("status", "")
    page = Paginator(selectors.people_list(company_id=company_id, q=q, status=status), PEOPLE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = selectors.people_list(company_id=company_id).aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        admins=Count("id", filter=Q(is_company_admin=True, is_active=True)),
    )
    context = {
        "section": "people",
        "page": page,
        "q": q,
        "status": status,
        "counts": counts,
        "invite_form": InviteForm(),
        "invitations": list(selectors.invitation_list(company_id=company_id, pending_only=True)[:50]),
        "new_invitation_url": request.session.pop("console_new_invitation_url", None),
        "invitation_days": settings.INVITATION_DAYS,
        "query": urlencode({k: v for k, v in {"q": q, "status": status}.items() if v}),
    }
    return _page(request, "console/people.html", context)


@console_page
@require_POST
def invite(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("console-people")
    base_url = request.build_absolute_uri("/")
    issued = services.invitation_create(
        actor=request.user, email=form.cleaned_data["email"], role=form.cleaned_data["role"], base_url=base_url
    )
    # The link is shown once, on the next page (only its hash is kept); it was mailed too.
    request.session["console_new_invitation_url"] = services.invitation_url(base_url, issued.token)
    messages.success(request, f"Invitation sent to {issued.invitation.email}.")
    return redirect("console-people")


@console_page
@require_POST
def invitation_revoke(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(request.user, invitation_id)
    services.invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("console-people")


PERSON_ACTIONS = ("deactivate", "activate", "make_admin", "unmake_admin")


@console_page
@require_POST
def person_action(request: AuthenticatedHttpRequest, user_id: int, action: str) -> HttpResponse:
    person = access_person(request.user, user_id)
    if action == "deactivate":
        services.user_deactivate(actor=request.user, person=person)
        messages.success(request, f"{person.name} was deactivated and signed out everywhere.")
    elif action == "activate":
        services.user_activate(actor=request.user, person=person)
        messages.success(request, f"{person.name} can sign in again.")
    elif action in ("make_admin", "unmake_admin"):
        services.user_set_company_admin(actor=request.user, person=person, is_company_admin=action == "make_admin")
        messages.success(
            request, f"{person.name} is {'now' if action == 'make_admin' else 'no longer'} a company admin."
        )
    else:
        raise Http404("No such action.")
    return _back(request, reverse("console-people"))


# -- spaces -----------------------------------------------------------------------------------


@console_page
def spaces(request: AuthenticatedHttpRequest) -> HttpResponse:
    company_id = _company_id(request)
    rows = list(selectors.console_spaces(company_id=company_id))
    floor = [
        {"id": s.id, "name": s.name, "x": s.x, "y": s.y, "w": s.w, "h": s.h, "status": s.status, "kind": s.kind}
        for s in rows
    ]
    context = {
        "section": "spaces",
        "spaces": [
            (
                space,
                SpaceForm(
                    initial={
                        "name": space.name,
                        "kind": space.kind,
                        "capacity": space.capacity,
                        "is_private": space.is_private,
                    },
                    prefix=f"s{space.id}",
                ),
            )
            for space in rows
        ],
        "create_form": SpaceForm(prefix="new"),
        "floor": floor,
    }
    return _page(request, "console/spaces.html", context)


def _form_errors(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _free_spot(company_id: int) -> dict[str, int]:
    """A new space goes below the floor's lowest one, on the grid."""
    bottom = selectors.floor_bottom(company_id=company_id)
    return {"x": 20, "y": bottom + 20 if bottom else 20}


@console_page
@require_POST
def space_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SpaceForm(request.POST, prefix="new")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("console-spaces")
    data = {**form.cleaned_data, **_free_spot(_company_id(request))}
    space = space_services.space_create(actor=request.user, data=data)
    messages.success(request, f"{space.name} is on the floor.")
    return redirect("console-spaces")


@console_page
@require_POST
def space_edit(request: AuthenticatedHttpRequest, space_id: int) -> HttpResponse:
    space = access_space(request.user, space_id, manage=True)
    form = SpaceForm(request.POST, prefix=f"s{space.id}")
    if not form.is_valid():
        messages.error(request, f"{space.name}: {_form_errors(form)}")
        return redirect("console-spaces")
    space = space_services.space_update(actor=request.user, space=space, data=form.cleaned_data)
    messages.success(request, f"{space.name} was saved.")
    return redirect("console-spaces")


@console_page
@require_POST
def space_status(request: AuthenticatedHttpRequest, space_id: int) -> HttpResponse:
    space = access_space(request.user, space_id, manage=True)
    closing = request.POST.get("status") == Space.Status.CLOSED
    space = space_services.space_update(
        actor=request.user, space=space, data={"status": Space.Status.CLOSED if closing else Space.Status.AVAILABLE}
    )
    messages.success(request, f"{space.name} is {'closed' if closing else 'open'}.")
    return redirect("console-spaces")


@console_page
@require_POST
def space_delete(request: AuthenticatedHttpRequest, space_id: int) -> HttpResponse:
    space = access_space(request.user, space_id, manage=True)
    name = space.name
    space_services.space_delete(actor=request.user, space=space)
    messages.success(request, f"{name} was removed from the floor.")
    return redirect("console-spaces")


# -- company settings -------------------------------------------------------------------------


@console_page
def company_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    company_id = _company_id(request)
    row = selectors.company_settings_get(company_id=company_id)
    company = request.user.company
    assert company is not None
    if request.method == "POST":
        form = CompanySettingsForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            quiet = (
                (data["quiet_timezone"], list(data["quiet_days"]), data["quiet_start"], data["quiet_end"])
                if data["quiet_enabled"]
                else None
            )
            services.company_settings_update(
                actor=request.user,
                name=data["name"],
                logo=data.get("logo"),
                remove_logo=data["remove_logo"],
                idle_minutes=data["idle_minutes"],
                quiet_hours=quiet,
                clear_quiet_hours=not data["quiet_enabled"],
            )
            messages.success(request, "The company settings were saved.")
            return redirect("console-settings")
    else:
        form = CompanySettingsForm(
            initial={
                "name": company.name,
                "idle_minutes": row.idle_minutes if row else None,
                "quiet_enabled": bool(row and row.has_quiet_hours),
                "quiet_timezone": (row.quiet_timezone if row and row.quiet_timezone else "UTC"),
                "quiet_days": row.quiet_days if row else [],
                "quiet_start": row.quiet_start if row else time(18, 0),
                "quiet_end": row.quiet_end if row else time(9, 0),
            }
        )
    context = {"section": "settings", "form": form, "row": row}
    return _page(request, "console/settings.html", context)


# -- audit log --------------------------------------------------------------------------------


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@console_page
def audit(request: AuthenticatedHttpRequest) -> HttpResponse:
    company_id = _company_id(request)
    form = AuditFilterForm(
        request.GET or None, company_id=company_id, actions=selectors.audit_actions(company_id=company_id)
    )
    filters = selectors.AuditFilter()
    export_query: dict[str, str] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.AuditFilter(
            actor=data["actor"].pk if data["actor"] else None,
            action=data["action"] or "",
            since=_day_start(data["since"]) if data["since"] else None,
            until=_day_start(data["until"]) + timedelta(days=1) if data["until"] else None,
        )
        export_query = {
            k: v
            for k, v in {
                "actor": str(filters.actor or ""),
                "action": filters.action,
                "since": filters.since.isoformat() if filters.since else "",
                "until": filters.until.isoformat() if filters.until else "",
            }.items()
            if v
        }
    rows = selectors.audit_list(company_id=company_id, filters=filters).select_related("actor")
    page = Paginator(rows, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "section": "audit",
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "audit_export_url": reverse("audit-export") + (f"?{urlencode(export_query)}" if export_query else ""),
    }
    return _page(request, "console/audit.html", context)


# -- the company's logo (every member sees it) ------------------------------------------------


@login_required
def company_logo(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    if request.user.company_id is None:
        raise Http404("No company.")
    row = selectors.company_settings_get(company_id=request.user.company_id)
    if row is None or not row.logo:
        raise Http404("No logo.")
    response = FileResponse(row.logo.open("rb"))
    kind = (row.logo.name or "").rsplit(".", 1)[-1]
    response["Content-Type"] = {"jpg": "image/jpeg"}.get(kind, f"image/{kind}")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- invitation sign-up (anyone with the link) ------------------------------------------------

INVALID_SENTENCES = {
    "invitation_expired": "This invitation has expired. Ask whoever invited you for a new one.",
    "invitation_used": "This invitation was used already. If it was you, sign in instead.",
    "invitation_revoked": "This invitation was withdrawn by the company.",
    "invitation_not_found": "This invitation link is not valid. Check that you copied all of it.",
}


def _invalid(request: HttpRequest, error: ServiceError) -> HttpResponseBase:
    # A page that says what happened (200), not an error: only a link that never existed is a 404.
    context = {"code": error.code, "sentence": INVALID_SENTENCES.get(error.code, error.message)}
    status = 404 if error.code == "invitation_not_found" else 200
    return _secured(render(request, "registration/invite_invalid.html", context, status=status), request)


def invitation_signup(request: HttpRequest, token: str) -> HttpResponseBase:
    """The link from an invitation: a form that sets a password and joins the company, once."""
    try:
        invitation: Invitation = services.invitation_for_token(token)
    except services.InvitationUnusable as error:
        return _invalid(request, error)
    form = SignUpForm(request.POST or None, initial={"username": invitation.email.split("@")[0]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.invitation_accept(
                token=token, username=data["username"], display_name=data["display_name"], password=data["password1"]
            )
        except services.InvitationUnusable as error:
            return _invalid(request, error)
        except ValidationError as error:
            form.add_error("password1", error)
        except ServiceError as error:
            form.add_error("username" if error.code == "username_taken" else None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    context = {"form": form, "invitation": invitation, "company": invitation.company}
    return _secured(render(request, "registration/invite_signup.html", context), request)
