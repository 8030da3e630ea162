"""Signal receivers: hand committed space changes to spaces.events. No business rules here."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from spaces import events
from spaces.models import Meeting, Space


@receiver(post_save, sender=Space, dispatch_uid="spaces.space_saved")
def on_space_saved(sender, instance: Space, created: bool, **kwargs) -> None:  # noqa: ANN001
    events.space_saved(instance, created=created)


@receiver(post_delete, sender=Space, dispatch_uid="spaces.space_deleted")
def on_space_deleted(sender, instance: Space, **kwargs) -> None:  # noqa: ANN001
    events.space_deleted(instance)


@receiver(post_save, sender=Meeting, dispatch_uid="spaces.meeting_saved")
def on_meeting_saved(sender, instance: Meeting, **kwargs) -> None:  # noqa: ANN001
    events.space_saved(instance.space, created=False)
