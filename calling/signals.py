"""Signal receivers: calling's domain signals to calling.events (published after commit), and
cross-app reactions that hand over to calling.services. No business rules here."""

from django.dispatch import receiver

from calling import domain, events, services
from presence.domain import went_offline


@receiver(domain.call_changed, dispatch_uid="calling.call_changed")
def on_call_changed(sender, call, event_type: str, **kwargs) -> None:
    events.call_changed(call, event_type)


@receiver(domain.teleport_changed, dispatch_uid="calling.teleport_changed")
def on_teleport_changed(sender, teleport, event_type: str, **kwargs) -> None:
    events.teleport_changed(teleport, event_type)


@receiver(went_offline, dispatch_uid="calling.left_on_offline")
def on_went_offline(sender, user, presence, **kwargs) -> None:
    """Someone went offline (their last socket closed, or their process died): their calls cannot go on."""
    services.calls_end_for_user(user_id=user.id)
