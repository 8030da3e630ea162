"""Reads of people and presence."""

from django.db.models import QuerySet

from presence.models import Presence, QuietHours
from presence.services import presence_get_or_create
from virtual_office.models import User


def user_list(*, user: User) -> QuerySet[User]:
    """The active people of `user`'s company (for a person of no company: the others of none)."""
    return (
        User.objects.filter(company=user.company_id, is_active=True)
        .select_related("presence")
        .order_by("display_name", "username")
    )


def me_get(*, user: User) -> User:
    return User.objects.select_related("company", "presence").get(pk=user.pk)


def presence_get(*, user: User) -> Presence:
    """The user's presence as stored now (never a copy cached on a `User` instance)."""
    presence = Presence.objects.filter(user_id=user.pk).first()
    return presence if presence is not None else presence_get_or_create(user)


def quiet_hours_get(*, user: User) -> QuietHours | None:
    return QuietHours.objects.filter(user_id=user.pk).first()
