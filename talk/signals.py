"""Signal receivers: a person's space changing ends their talk elsewhere; a space deleted ends its talk.
The work is talk.services'; no business rules here."""

from typing import Any

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from presence.models import Presence
from spaces.models import Space
from talk import services


@receiver(post_save, sender=Presence, dispatch_uid="talk.follow_space")
def on_presence_saved(sender: Any, instance: Presence, update_fields: Any = None, **kwargs: Any) -> None:
    """spaces.services saves `current_space` whenever someone enters, leaves or is moved out of a
    space (also when they go offline), in the transaction that moves them."""
    if update_fields is not None and "current_space" in update_fields:
        services.talk_follow_space(user_id=instance.user_id, space_id=instance.current_space_id)


@receiver(pre_delete, sender=Space, dispatch_uid="talk.space_deleted")
def on_space_deleting(sender: Any, instance: Space, **kwargs: Any) -> None:
    services.talk_end(space_id=instance.pk)
