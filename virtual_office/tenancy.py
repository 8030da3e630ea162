"""Who is asking, and which company's rows they reach.

Every row belongs to one company and a person reaches their own company's rows only. A person of no
company (an operator made with `createsuperuser`, who works in the admin) reaches none of them.

`AuthenticatedRequest` / `AuthenticatedHttpRequest` are the requests a view gets once sign-in is
required (DRF's default `IsAuthenticated`, Django's `login_required`): their `user` is a `User`, never
`AnonymousUser`. They are annotations only: at run time the view gets DRF's `Request` or Django's
`HttpRequest` as before.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

from virtual_office.errors import Forbidden
from virtual_office.models import User

_M = TypeVar("_M", bound=Model)


class AuthenticatedRequest(Request):
    """A DRF request that passed `IsAuthenticated` (or a permission that implies it)."""

    user: User


class AuthenticatedHttpRequest(HttpRequest):
    """A Django request that passed `login_required`."""

    user: User


def of_company(queryset: QuerySet[_M], user: User, field: str = "company_id") -> QuerySet[_M]:
    """The rows of `queryset` that belong to `user`'s company (`field` is the lookup that names a
    row's company). For a person of no company: none (the lookup `field=None` found none either)."""
    if user.company_id is None:
        return queryset.none()
    return queryset.filter(**{field: user.company_id})


def company_id_of(actor: User) -> int:
    """The company whose rows `actor` writes. A person of no company writes none: refused here (403)
    instead of by the database (a row's company is NOT NULL)."""
    if actor.company_id is None:
        raise Forbidden("You are not a member of any company.", code="no_company")
    return actor.company_id
