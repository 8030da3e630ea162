"""Signal receivers: hand committed conversation changes to messaging.events. No business rules here."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from messaging import events
from messaging.models import Conversation, Message, Participant, Reaction


@receiver(post_save, sender=Message, dispatch_uid="messaging.message_saved")
def on_message_saved(sender, instance: Message, created: bool, **kwargs) -> None:
    events.message_saved(instance, created=created)


@receiver(post_save, sender=Reaction, dispatch_uid="messaging.reaction_saved")
@receiver(post_delete, sender=Reaction, dispatch_uid="messaging.reaction_deleted")
def on_reaction_changed(sender, instance: Reaction, **kwargs) -> None:
    events.reaction_changed(instance.message_id)


@receiver(pre_save, sender=Participant, dispatch_uid="messaging.participant_pre_save")
def remember_participant_state(sender, instance: Participant, **kwargs) -> None:
    if instance.pk is None:
        instance._was_active = None
    else:
        instance._was_active = Participant.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


@receiver(post_save, sender=Participant, dispatch_uid="messaging.participant_saved")
def on_participant_saved(sender, instance: Participant, created: bool, **kwargs) -> None:
    events.participant_changed(instance, created=created, was_active=instance._was_active)


@receiver(post_delete, sender=Participant, dispatch_uid="messaging.participant_deleted")
def on_participant_deleted(sender, instance: Participant, **kwargs) -> None:
    instance.is_active = False
    events.participant_changed(instance, created=False, was_active=True)


@receiver(post_save, sender=Conversation, dispatch_uid="messaging.conversation_saved")
def on_conversation_saved(sender, instance: Conversation, created: bool, **kwargs) -> None:
    events.conversation_saved(instance, created=created)
