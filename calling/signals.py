"""Signal receivers: cross-app reactions that hand over to calling.services. No business rules here."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from calling import services
from presence.models import Presence


@receiver(post_save, sender=Presence, dispatch_uid="calling.presence_saved")
def on_presence_saved(sender, instance: Presence, update_fields=None, **kwargs) -> None:  # noqa: ANN001
    """Someone went offline (their last socket closed): their calls cannot go on."""
    if update_fields is not None and "connected" in update_fields and not instance.connected:
        services.calls_end_for_user(user_id=instance.user_id)
