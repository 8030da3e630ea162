"""Payloads and recipients of space events (the space's company)."""

from spaces.api.serializers import SpaceOut
from spaces.models import Space
from spaces.selectors import space_get
from virtual_office.realtime import company_group, envelope, send_event_on_commit


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
