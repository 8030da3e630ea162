"""The office page and its server-rendered partials (the avatar menu).

The page is rendered once from the same selectors and serializers as the REST API; the socket keeps
it live afterwards. The avatar menu is rendered per click, so the options it offers (and why some are
disabled) always follow the server's current view of both people's presence.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from presence.api.serializers import UserOut
from presence.models import Presence
from presence.selectors import me_get, user_list
from spaces.api.serializers import SpaceOut
from spaces.permissions import can_enter
from spaces.selectors import space_list
from virtual_office.models import User

PRESENCE_CHOICES = [(choice.value, choice.label) for choice in Presence.Status]
INVITATIONS_MODULE = "js/invitations.js"
STATUS_LABELS = {**dict(PRESENCE_CHOICES), Presence.OFFLINE: "Offline"}


def _status(user: User) -> str:
    presence = getattr(user, "presence", None)
    return presence.effective_status if presence is not None else Presence.OFFLINE


def _current_space(user: User) -> int | None:
    presence = getattr(user, "presence", None)
    return presence.current_space_id if presence is not None else None


def _invitations_url() -> str | None:
    """Calls and teleports come from their own module; the page loads it only where it exists."""
    return static(INVITATIONS_MODULE) if finders.find(INVITATIONS_MODULE) else None


def office_context(user: User) -> dict:
    """Everything the first render needs; the same data goes to the scripts as JSON."""
    me = me_get(user=user)
    people = list(user_list(user=user))
    spaces = space_list(user=user)
    by_id = {person.id: person for person in people}
    for person in people:
        person.office_status = _status(person)
        person.office_space = _current_space(person)
        person.office_status_label = STATUS_LABELS.get(person.office_status, person.office_status)
    for space in spaces:
        space.occupant_people = [by_id[i] for i in space.occupant_ids if i in by_id]
        space.may_enter = can_enter(me, space)
        space.is_full = len(space.occupant_ids) >= space.capacity
        meetings = getattr(space, "open_meetings", [])
        space.meeting_title = meetings[0].title if meetings else ""
    wanderers = [p for p in people if p.office_space is None]
    floor_width = max([s.x + s.w for s in spaces] + [600]) + 24
    floor_height = max([s.y + s.h for s in spaces] + [360]) + 24
    my_status = me.presence.status if getattr(me, "presence", None) is not None else Presence.Status.ONLINE
    bootstrap = {
        "me": UserOut(me).data,
        "people": UserOut(people, many=True).data,
        "spaces": SpaceOut(spaces, many=True).data,
        "enterable": [s.id for s in spaces if s.may_enter],
        "ice_servers": settings.WEBRTC_ICE_SERVERS,
        "urls": {
            "api": "/api/v1/",
            "socket": "/ws/",
            "menu": "/office/people/{id}/menu/",
            "invitations": _invitations_url(),
        },
    }
    return {
        "me": me,
        "my_status": my_status,
        "my_space": _current_space(me),
        "presence_choices": PRESENCE_CHOICES,
        "spaces": spaces,
        "people": people,
        "wanderers": wanderers,
        "floor_width": floor_width,
        "floor_height": floor_height,
        "bootstrap": bootstrap,
    }


@dataclass
class MenuOption:
    action: str
    label: str
    reason: str = ""

    @property
    def disabled(self) -> bool:
        return bool(self.reason)


def avatar_menu_options(viewer: User, person: User) -> list[MenuOption]:
    """What `viewer` may do with `person` right now, with a human reason for every refusal."""
    status = _status(person)
    first = person.name.split()[0] if person.name.split() else person.username
    my_space = _current_space(viewer)
    together = my_space is not None and _current_space(person) == my_space
    unavailable = {
        Presence.OFFLINE: f"{first} is offline",
        Presence.Status.DND: f"{first} does not want to be disturbed",
        Presence.Status.BUSY: f"{first} is busy",
    }.get(status, "")
    with_you = f"{first} is already with you" if together else ""
    call_reason = unavailable or with_you
    invite_reason = unavailable or with_you or ("" if my_space is not None else "You are not in a space")
    return [
        MenuOption("message", "Send message"),
        MenuOption("voice", "Voice call", call_reason),
        MenuOption("video", "Video call", call_reason),
        MenuOption("invite", "Invite to my space", invite_reason),
    ]


@login_required
def avatar_menu(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = me_get(user=request.user)
    person = user_list(user=viewer).filter(pk=user_id).first()
    if person is None:
        raise Http404("No such person.")
    status = _status(person)
    context = {
        "person": person,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "is_me": person.id == viewer.id,
        "options": [] if person.id == viewer.id else avatar_menu_options(viewer, person),
    }
    return render(request, "office/_avatar_menu.html", context)
