"""Reads of people and presence."""

from django.db.models import QuerySet

from virtual_office.models import User


def user_list(*, user: User) -> QuerySet[User]:
    return (
        User.objects.filter(company_id=user.company_id, is_active=True)
        .select_related("presence")
        .order_by("display_name", "username")
    )


def me_get(*, user: User) -> User:
    return User.objects.select_related("company", "presence").get(pk=user.pk)
