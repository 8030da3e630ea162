"""Who may use the company console: company admins of an active account, on their own company's
objects only. Another company's person, invitation or space is a 404 (never a 403 that confirms it
exists); a member who is not an admin gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from rest_framework.permissions import BasePermission

from console import selectors
from console.models import Invitation
from virtual_office.errors import NotFound
from virtual_office.models import User


def is_console_admin(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.company_id is not None
        and user.is_company_admin
    )


def admin_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A console page: sign-in first (the login page), then company admins only (403 page)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_console_admin(request.user):
            raise PermissionDenied("Only company admins can use the company console.")
        return view(request, *args, **kwargs)

    return guarded


class IsCompanyAdmin(BasePermission):
    message = "Only company admins can do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_console_admin(request.user)


def access_person(admin: User, user_id: int | str) -> User:
    try:
        person = selectors.person_get(company_id=admin.company_id or 0, user_id=int(user_id))
    except (TypeError, ValueError):
        person = None
    if person is None:
        raise NotFound("No such person.", code="user_not_found")
    return person


def access_invitation(admin: User, invitation_id: int | str) -> Invitation:
    try:
        invitation = selectors.invitation_get(company_id=admin.company_id or 0, invitation_id=int(invitation_id))
    except (TypeError, ValueError):
        invitation = None
    if invitation is None:
        raise NotFound("No such invitation.", code="invitation_not_found")
    return invitation
