"""Reads of spaces with occupants, open meeting and room conversation loaded once; the knock sweep's next due time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Min, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from messaging.models import Conversation
from presence.models import Presence
from spaces.models import Knock, Meeting, Space
from spaces.permissions import visible_spaces
from virtual_office.models import User


class SpaceLoads(TypedDict):
    """What `space_list` and `space_get` load with each space (an annotation and two prefetches)."""

    room_conversation_id: int | None  # the space's room conversation
    open_meetings: list[Meeting]  # its meetings not yet ended
    occupants: list[Presence]  # the presence rows of the people in it, by user id


# A space as these selectors return it, with its loads typed (SpaceOut and the office page read them).
# At run time just `Space`: django_stubs_ext, which spells the type, is a development package.
if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    LoadedSpace = WithAnnotations[Space, SpaceLoads]
else:
    LoadedSpace = Space


def _annotated(qs: QuerySet[Space]) -> QuerySet[LoadedSpace]:
    room = Conversation.objects.filter(space=OuterRef("pk")).values("id")[:1]
    return qs.annotate(room_conversation_id=Subquery(room)).prefetch_related(
        Prefetch("meetings", queryset=Meeting.objects.filter(ended_at__isnull=True), to_attr="open_meetings"),
        Prefetch(
            "presences",
            queryset=Presence.objects.only("id", "user_id", "current_space_id").order_by("user_id"),
            to_attr="occupants",
        ),
    )


def occupant_ids(space: LoadedSpace) -> list[int]:
    return [presence.user_id for presence in space.occupants]


def space_list(*, user: User) -> list[LoadedSpace]:
    return list(_annotated(visible_spaces(user)))


def space_get(*, space_id: int) -> LoadedSpace:
    return _annotated(Space.objects.filter(pk=space_id)).get()


def knock_next_expiry() -> datetime | None:
    """The soonest `expires_at` among knocks still waiting (the knock sweeper wakes up for it)."""
    return Knock.objects.filter(status=Knock.Status.PENDING, expires_at__gt=timezone.now()).aggregate(
        at=Min("expires_at")
    )["at"]
