"""Signal receivers: hand committed space changes to spaces.events, and react to presence's domain signals."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from presence.domain import went_offline
from spaces import domain, events, services
from spaces.models import Meeting, Space


@receiver(post_save, sender=Space, dispatch_uid="spaces.space_saved")
def on_space_saved(sender, instance: Space, created: bool, **kwargs) -> None:
    events.space_saved(instance, created=created)


@receiver(post_delete, sender=Space, dispatch_uid="spaces.space_deleted")
def on_space_deleted(sender, instance: Space, **kwargs) -> None:
    events.space_deleted(instance)


@receiver(post_save, sender=Meeting, dispatch_uid="spaces.meeting_saved")
def on_meeting_saved(sender, instance: Meeting, **kwargs) -> None:
    events.space_saved(instance.space, created=False)


@receiver(went_offline, dispatch_uid="spaces.left_on_offline")
def on_went_offline(sender, user, presence, **kwargs) -> None:
    """Someone who went offline leaves their space, in the same transaction."""
    if presence.current_space_id is not None:
        services.space_leave(actor=user, reason="offline")


@receiver(domain.knock_changed, dispatch_uid="spaces.knock_changed")
def on_knock_changed(sender, knock, event_type: str, occupant_ids: list[int], **kwargs) -> None:
    events.knock_changed(knock, event_type, occupant_ids)
