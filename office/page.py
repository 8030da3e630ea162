"""The office page and its server-rendered partials (the avatar menu).

The page is rendered once from the same selectors and serializers as the REST API; the socket keeps
it live afterwards. The avatar menu is rendered per click, so the options it offers (and why the
others are not offered) always follow the server's current view of both people's presence and calls.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from calling.selectors import teleport_pending, users_in_calls
from presence.api.serializers import UserOut
from presence.models import Presence
from presence.selectors import me_get, user_list
from spaces.api.serializers import SpaceOut
from spaces.models import Space
from spaces.permissions import can_enter
from spaces.selectors import LoadedSpace, occupant_ids, space_list
from talk import selectors as talk_selectors
from talk.sfu import livekit_configured
from virtual_office.models import User
from virtual_office.tenancy import AuthenticatedHttpRequest

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


def attachment_rules() -> dict[str, object]:
    """What the composer checks before it uploads anything (messaging.services checks the same
    settings again): the most files per message, the largest file, and the allowed types, each with
    the file name extensions that imply it and a short label to name it to people."""
    types: list[dict[str, object]] = []
    for content_type in settings.ATTACHMENT_ALLOWED_TYPES:
        primary = mimetypes.guess_extension(content_type) or ""
        extensions = sorted({primary, *mimetypes.guess_all_extensions(content_type)} - {""})
        label = primary.lstrip(".").upper() or content_type
        types.append({"type": content_type, "extensions": extensions, "label": label})
    return {"max_bytes": settings.ATTACHMENT_MAX_BYTES, "max_count": settings.ATTACHMENT_MAX_COUNT, "types": types}


class _DrawnThrough:
    """A row the page's templates draw: the page's own values are its fields; whatever else a
    template reads (`person.name`, `space.get_kind_display`) it reads through to the model instance
    held in the field `_through` names. Python code reads that field instead."""

    _through: ClassVar[str]

    def __getattr__(self, name: str) -> object:
        # Only names the row itself lacks come here (not its fields, not once they are set).
        try:
            instance = vars(self)[self._through]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(instance, name)


@dataclass(frozen=True)
class FloorPerson(_DrawnThrough):
    """A person as the page draws them (office/_person.html, office/_avatar.html)."""

    _through: ClassVar[str] = "user"

    user: User
    office_status: str
    office_status_label: str
    office_space: int | None  # the space they are in


@dataclass(frozen=True)
class FloorSpace(_DrawnThrough):
    """A space as the page draws it (office/_space.html)."""

    _through: ClassVar[str] = "space"

    space: LoadedSpace
    occupant_people: list[FloorPerson]
    may_enter: bool
    is_full: bool
    meeting_title: str


def _floor_person(user: User) -> FloorPerson:
    status = _status(user)
    return FloorPerson(user, status, STATUS_LABELS.get(status, status), _current_space(user))


def _floor_space(space: LoadedSpace, me: User, by_id: dict[int, FloorPerson]) -> FloorSpace:
    meetings = space.open_meetings
    inside = occupant_ids(space)
    return FloorSpace(
        space,
        occupant_people=[by_id[i] for i in inside if i in by_id],
        may_enter=can_enter(me, space),
        is_full=len(inside) >= space.capacity,
        meeting_title=meetings[0].title if meetings else "",
    )


def _talk_bootstrap(me: User) -> dict:
    """The talk of the space I am in, as `space.av.updated` would say it, and how its media travels."""
    space_id = _current_space(me)
    return {
        "space": space_id,
        "participants": talk_selectors.participant_list(space_id=space_id) if space_id is not None else [],
        "livekit": livekit_configured(),
        "livekit_client": static("vendor/livekit-client/livekit-client.umd.js"),
        "mesh_max": settings.SPACE_AV_MESH_MAX,
    }


def office_context(user: User) -> dict:
    """Everything the first render needs; the same data goes to the scripts as JSON."""
    me = me_get(user=user)
    users = list(user_list(user=user))
    spaces = space_list(user=user)
    people = [_floor_person(person) for person in users]
    by_id = {person.user.id: person for person in people}
    floor = [_floor_space(space, me, by_id) for space in spaces]
    # "Around the office": people online and in no space (and me, whose socket is only opening).
    wanderers = [p for p in people if p.office_space is None and (p.office_status != Presence.OFFLINE or p.id == me.id)]
    floor_width = max([s.x + s.w for s in spaces] + [600]) + 24
    floor_height = max([s.y + s.h for s in spaces] + [360]) + 24
    my_status = me.presence.status if getattr(me, "presence", None) is not None else Presence.Status.ONLINE
    bootstrap = {
        "me": UserOut(me).data,
        "people": UserOut(users, many=True).data,
        "spaces": SpaceOut(spaces, many=True).data,
        "enterable": [s.space.id for s in floor if s.may_enter],
        "ice_servers": settings.WEBRTC_ICE_SERVERS,
        "talk": _talk_bootstrap(me),
        "attachments": attachment_rules(),
        "message_max_length": settings.MESSAGE_MAX_LENGTH,
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
        "spaces": floor,
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
    """What `viewer` may do with `person` right now, with a human reason for every refusal: the same
    rules the services apply (call_create, teleport_create), so what the menu offers works."""
    status = _status(person)
    first = person.name.split()[0] if person.name.split() else person.username
    unreachable = {
        Presence.OFFLINE: f"{first} is offline",
        Presence.Status.DND: f"{first} is on do not disturb",
    }.get(status, "")
    # Busy people are still called (their call rings quietly) and invited; someone in a call is not.
    in_calls = users_in_calls(user_ids=[viewer.id, person.id])
    call_reason = (
        unreachable
        or ("You are already in a call" if viewer.id in in_calls else "")
        or (f"{first} is in a call" if person.id in in_calls else "")
    )
    return [
        MenuOption("message", "Send message"),
        MenuOption("voice", "Voice call", call_reason),
        MenuOption("video", "Video call", call_reason),
        MenuOption("invite", "Invite to my space", unreachable or _invite_refusal(viewer, person, first)),
    ]


def _invite_refusal(viewer: User, person: User, first: str) -> str:
    presence = getattr(viewer, "presence", None)
    space = presence.current_space if presence is not None else None
    if space is None:
        return "You are not in a space"
    if _current_space(person) == space.id:
        return f"{first} is already with you"
    if space.status == Space.Status.CLOSED:
        return f"{space.name} is closed"
    if not can_enter(person, space):
        return f"{first} may not enter {space.name}"
    if teleport_pending(inviter=viewer, invitee=person):
        return f"You invited {first} already; waiting for an answer"
    return ""


@dataclass
class MenuRefusal:
    """Options the menu does not offer now, and why: voice and video together are "Call"."""

    action: str  # the first option's, for its icon
    label: str
    reason: str


def menu_refusals(options: list[MenuOption]) -> list[MenuRefusal]:
    by_reason: dict[str, list[MenuOption]] = {}
    for option in options:
        if option.disabled:
            by_reason.setdefault(option.reason, []).append(option)
    refusals = []
    for reason, refused in by_reason.items():
        actions = [option.action for option in refused]
        labels = [option.label for option in refused if option.action not in ("voice", "video")]
        if "voice" in actions and "video" in actions:
            labels.insert(0, "Call")
        else:
            labels = [option.label for option in refused]
        refusals.append(MenuRefusal(actions[0], ", ".join(labels), reason))
    return refusals


@login_required
def avatar_menu(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
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
    }
    options = [] if person.id == viewer.id else avatar_menu_options(viewer, person)
    # Only what can work now is a menu item; the rest is listed below it with the reason.
    context["options"] = [option for option in options if not option.disabled]
    context["refusals"] = menu_refusals(options)
    return render(request, "office/_avatar_menu.html", context)
