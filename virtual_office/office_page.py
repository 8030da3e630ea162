"""What the office page renders first; the socket keeps it live afterwards."""

from presence.selectors import user_list
from spaces.selectors import space_list
from virtual_office.models import User


def office_context(user: User) -> dict:
    return {"spaces": space_list(user=user), "people": list(user_list(user=user))}
