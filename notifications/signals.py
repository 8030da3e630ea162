"""Signal receivers: what other apps report becomes notifications, once their transaction committed
(a rolled-back message, call or knock notifies nobody). No business rules here: notifications.services
decides who gets what."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from calling.domain import call_changed, teleport_changed
from messaging.models import Message
from notifications import selectors, services
from spaces.domain import knock_changed
from virtual_office.realtime import after_commit_in_background


@receiver(post_save, sender=Message, dispatch_uid="notifications.message_saved")
def on_message_saved(sender, instance: Message, created: bool, update_fields=None, **kwargs) -> None:
    if instance.kind != Message.Kind.USER or instance.sender_id is None:
        return  # system notes notify nobody
    message_id, conversation_id = instance.pk, instance.conversation_id
    if created:
        # Off the sender's path: a message to a group of a thousand makes a thousand notifications.
        # Who watches the conversation matters for 1:1 and group conversations only (a room notifies
        # only whom it mentions); it is asked on the event loop first (one Redis round trip there).
        # The sender's instance holds its conversation; without it, ask.
        held = Message.conversation.is_cached(instance)
        if held and instance.conversation.kind not in services.PRIVATE_KINDS:
            after_commit_in_background(lambda: services.message_notify(message_id=message_id), name="message_notify")
            return
        after_commit_in_background(
            lambda watching: services.message_notify(message_id=message_id, watching=watching),
            ask=lambda: selectors.watching_user_ids_now(conversation_id),
            name="message_notify",
        )
    elif update_fields and "mentions" in update_fields and instance.mentions and not instance.deleted:
        transaction.on_commit(lambda: services.mentions_notify(message_id=message_id), robust=True)


@receiver(call_changed, dispatch_uid="notifications.call_changed")
def on_call_changed(sender, call, event_type: str, **kwargs) -> None:
    if event_type == "call.missed":
        transaction.on_commit(lambda: services.call_missed_notify(call=call), robust=True)


@receiver(teleport_changed, dispatch_uid="notifications.teleport_changed")
def on_teleport_changed(sender, teleport, event_type: str, **kwargs) -> None:
    if event_type == "teleport.expired":
        transaction.on_commit(lambda: services.teleport_missed_notify(teleport=teleport), robust=True)


@receiver(knock_changed, dispatch_uid="notifications.knock_changed")
def on_knock_changed(sender, knock, event_type: str, occupant_ids: list[int], **kwargs) -> None:
    if event_type == "space.knock":
        inside = list(occupant_ids)
        transaction.on_commit(lambda: services.knock_notify(knock=knock, occupant_ids=inside), robust=True)
