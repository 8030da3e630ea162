"""Payloads and recipients of space events: the space's company (space.*), and for knocks the people
inside and the knocker (`user.<id>` groups)."""

from presence.policy import HOLD, interruption
from spaces.api.serializers import KnockOut, SpaceKnockOut, SpaceOut
from spaces.models import Knock, Space
from spaces.selectors import space_get
from virtual_office.realtime import company_group, envelope, send_event_on_commit, user_group


def space_saved(space: Space, *, created: bool) -> None:
    event_type = "space.created" if created else "space.updated"
    space_id = space.id

    def build() -> dict | None:
        try:
            return envelope(event_type, SpaceOut(space_get(space_id=space_id)).data)
        except Space.DoesNotExist:
            return None

    send_event_on_commit(company_group(space.company_id), build)


def space_deleted(space: Space) -> None:
    send_event_on_commit(company_group(space.company_id), envelope("space.deleted", {"id": space.id}))


def knock_changed(knock: Knock, event_type: str, occupant_ids: list[int]) -> None:
    """`space.knock` to the people inside whom the interruption policy lets it reach (under dnd it
    waits as their `knock` notification only); `knock.admitted|denied|expired` to the knocker, and to
    the people inside so that the knock's toast closes on every one of their tabs."""
    if event_type == "space.knock":
        event = envelope(event_type, SpaceKnockOut(knock).data)
        for user_id in occupant_ids:
            if interruption(user_id, "knock") != HOLD:
                send_event_on_commit(user_group(user_id), event)
        return
    event = envelope(event_type, KnockOut(knock).data)
    for user_id in dict.fromkeys([knock.user_id, *occupant_ids]):
        send_event_on_commit(user_group(user_id), event)
