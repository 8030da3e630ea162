"""Every write to talks: join, update my state, leave; and leaving when the socket that joined closes,
its process dies, or the person leaves the space.

Lock order (as spaces.services): space row -> presence row -> talk row. Joining holds the space's row,
so two people joining at once cannot both take the last place of a full mesh. Leaving takes the
presence row first (the `in_call` engagement is written there) and never the space's, so a leave from
inside `space_leave` (which holds the presence row) cannot wait on a join in a circle.

A person in a talk is busy (`in_call`, source `talk.<space id>`): presence keeps each source apart, so
a 1:1 call and a talk at the same time end one at a time.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from presence.models import Connection, Presence
from presence.services import presence_engagement_set, presence_get_or_create
from spaces.models import Space
from talk import events, sfu
from talk.models import TalkParticipant
from virtual_office.errors import Conflict, NotFound
from virtual_office.models import User

# A row whose socket has no Connection row any more is swept only after this long, so a join that
# raced its socket's first heartbeat is never taken for an orphan.
SWEEP_GRACE = timedelta(seconds=10)


def _source(space_id: int) -> str:
    return f"talk.{space_id}"


def _occupant_or_refuse(actor: User, space: Space) -> Presence:
    presence = presence_get_or_create(actor)
    presence = Presence.objects.select_for_update(no_key=True, of=("self",)).get(pk=presence.pk)
    if presence.current_space_id != space.id:
        raise Conflict("not_in_space", f"You are not in {space.name}; enter it to join its talk.")
    return presence


def talk_join(*, actor: User, space: Space, audio: bool, video: bool, channel_name: str) -> TalkParticipant:
    """Join the talk of the space I am in, from this socket (a second tab joining takes over).

    Only occupants join (`not_in_space`); a mesh holds at most SPACE_AV_MESH_MAX people (`av_full`),
    unless LiveKit carries the media."""
    with transaction.atomic():
        space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
        if space.company_id != actor.company_id:
            raise NotFound("No such space.")
        _occupant_or_refuse(actor, space)
        limit = settings.SPACE_AV_MESH_MAX
        if not sfu.livekit_configured():
            others = TalkParticipant.objects.filter(space=space).exclude(user=actor).count()
            if others >= limit:
                raise Conflict(
                    "av_full", f"The talk in {space.name} is full ({limit} people); try again when someone leaves."
                )
        previous = TalkParticipant.objects.filter(user=actor).values_list("space_id", flat=True).first()
        participant, _ = TalkParticipant.objects.update_or_create(
            user=actor,
            # A new join time also on a takeover: the page's mesh has the newest joiner make the offers.
            defaults={
                "space": space,
                "channel_name": channel_name,
                "audio": audio,
                "video": video,
                "screen": False,
                "joined_at": timezone.now(),
            },
        )
        if previous is not None and previous != space.id:
            presence_engagement_set(user=actor, engagement="in_call", on=False, source=_source(previous))
        presence_engagement_set(user=actor, engagement="in_call", on=True, source=_source(space.id))
        events.talk_changed(space_id=space.id, also=[actor.id])
    return participant


def talk_update(*, actor: User, space: Space, audio: bool, video: bool, screen: bool) -> TalkParticipant:
    """My own state in the talk (microphone, camera, screen share)."""
    with transaction.atomic():
        participant = TalkParticipant.objects.select_for_update().filter(user=actor, space=space).first()
        if participant is None:
            raise Conflict("not_in_talk", f"You are not in the talk of {space.name}; join it first.")
        participant.audio, participant.video, participant.screen = audio, video, screen
        participant.save(update_fields=["audio", "video", "screen"])
        events.talk_changed(space_id=space.id, also=[actor.id])
    return participant


def _remove(participants: list[TalkParticipant]) -> list[TalkParticipant]:
    """End these rows (each person's presence first, see the lock order) and tell each space."""
    removed = []
    for participant in sorted(participants, key=lambda p: p.user_id):
        with transaction.atomic():
            user = participant.user
            presence_engagement_set(user=user, engagement="in_call", on=False, source=_source(participant.space_id))
            deleted, _ = TalkParticipant.objects.filter(
                pk=participant.pk, channel_name=participant.channel_name
            ).delete()
            if deleted:
                events.talk_changed(space_id=participant.space_id, also=[participant.user_id])
                removed.append(participant)
    return removed


def talk_leave(*, actor: User, space: Space) -> bool:
    """Leave the space's talk; leaving a talk I am not in changes nothing. Returns whether I left."""
    rows = list(TalkParticipant.objects.select_related("user").filter(user=actor, space=space))
    return bool(_remove(rows))


def talk_leave_socket(*, channel_name: str) -> list[TalkParticipant]:
    """The socket that joined closed: its talk ends for that person (another tab's join stays)."""
    return _remove(list(TalkParticipant.objects.select_related("user").filter(channel_name=channel_name)))


def talk_follow_space(*, user_id: int, space_id: int | None) -> None:
    """Someone's space changed (left, moved, went offline, was removed): any talk of another space
    ends, in the same transaction. Entering a space shows them its talk."""
    stale = TalkParticipant.objects.select_related("user").filter(user_id=user_id)
    if space_id is not None:
        stale = stale.exclude(space_id=space_id)
    _remove(list(stale))
    if space_id is not None and TalkParticipant.objects.filter(space_id=space_id).exists():
        events.talk_shown(space_id=space_id, user_id=user_id)


def talk_end(*, space_id: int) -> None:
    """A space is being deleted: everyone in its talk leaves it (their `in_call` ends)."""
    for participant in TalkParticipant.objects.select_related("user").filter(space_id=space_id):
        presence_engagement_set(
            user=participant.user, engagement="in_call", on=False, source=_source(participant.space_id)
        )


def talks_sweep() -> list[TalkParticipant]:
    """Rows whose socket is gone without a close (its process died: presence swept its Connection row)."""
    orphans = (
        TalkParticipant.objects.select_related("user")
        .filter(joined_at__lt=timezone.now() - SWEEP_GRACE)
        .exclude(channel_name__in=Connection.objects.values("channel_name"))
    )
    return _remove(list(orphans))
