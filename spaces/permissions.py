"""Who may see, enter and manage spaces. Another company's space is a 404, never a 403."""

from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user
from rest_framework.permissions import SAFE_METHODS, BasePermission

from presence.models import Presence
from spaces.models import Knock, Space
from virtual_office.errors import Forbidden, NotFound
from virtual_office.models import User
from virtual_office.tenancy import of_company

ENTER_PERM = "spaces.enter_space"


def can_enter(user: User, space: Space) -> bool:
    if space.company_id != user.company_id:
        return False
    if not space.is_private or user.is_company_admin:
        return True
    return user.has_perm(ENTER_PERM, space)


def enterable_private_space_ids(user: User) -> set[int]:
    """Private spaces this user was granted (guardian, object grants only: no global shortcut)."""
    spaces = get_objects_for_user(
        user,
        ENTER_PERM,
        klass=of_company(Space.objects.filter(is_private=True), user),
        accept_global_perms=False,
        with_superuser=False,
    )
    return set(spaces.values_list("id", flat=True))


def visible_spaces(user: User) -> QuerySet[Space]:
    return of_company(Space.objects.all(), user)


def access_space(user: User, space_id: int | str, *, manage: bool = False) -> Space:
    try:
        space = visible_spaces(user).get(pk=int(space_id))
    except (Space.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such space.") from None
    if manage and not user.is_company_admin:
        raise Forbidden("Only company admins can change spaces.")
    return space


def can_read_room(user: User, space: Space) -> bool:
    """A space's room conversation is readable by whoever may enter the space, and by whoever is
    inside it now (someone let in after knocking), while they stay."""
    if can_enter(user, space):
        return True
    if space.company_id != user.company_id:
        return False
    return Presence.objects.filter(user_id=user.pk, current_space_id=space.pk).exists()


class IsCompanyAdminOrReadOnly(BasePermission):
    message = "Only company admins can change spaces."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(request.user.is_company_admin)


def access_knock(user: User, knock_id: int | str) -> Knock:
    """A knock on a space of the user's company (anyone else's: 404). Who may answer it (an occupant)
    is the service's check, with a sentence saying why."""
    try:
        return of_company(Knock.objects.select_related("space", "user"), user).get(pk=int(knock_id))
    except (Knock.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such knock.", code="knock_not_found") from None
