"""Who may see and act on calls and teleport invitations: their two parties only.

Anyone else, in this company or another, gets a 404 (an invitation is private to the two people).
Which party may do what (accept, cancel, ...) is checked by the services, with a sentence saying why.
"""

from typing import Any

from django.db.models import Q

from calling.models import Call, Teleport
from virtual_office.errors import NotFound
from virtual_office.models import User
from virtual_office.tenancy import of_company


def _pk(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    return int(value)


def access_call(user: User, call_id: Any) -> Call:
    try:
        return of_company(Call.objects.select_related("caller", "callee"), user).get(
            Q(caller=user) | Q(callee=user), pk=_pk(call_id)
        )
    except (Call.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such call.", code="call_not_found") from None


def access_teleport(user: User, teleport_id: Any) -> Teleport:
    try:
        return of_company(Teleport.objects.select_related("inviter", "invitee", "space"), user).get(
            Q(inviter=user) | Q(invitee=user), pk=_pk(teleport_id)
        )
    except (Teleport.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such teleport invitation.", code="teleport_not_found") from None


def access_colleague(user: User, other_id: Any) -> User:
    """Another active person of the user's company; anyone else (or no one) is a 404."""
    try:
        return User.objects.select_related("presence").get(
            pk=_pk(other_id), company=user.company_id, is_active=True
        )
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such person in your company.", code="user_not_found") from None
