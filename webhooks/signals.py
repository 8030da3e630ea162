"""Receivers that hand committed space and message changes to webhooks.services, after the commit
(nothing goes out for a change that rolled back). No business rules here: the payloads are the ones
the socket events carry."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from messaging.api.serializers import message_data
from messaging.models import Conversation, Message
from spaces.api.serializers import SpaceOut
from spaces.models import Space
from spaces.selectors import space_get
from webhooks import services


@receiver(post_save, sender=Message, dispatch_uid="webhooks.message_saved")
def on_message_saved(sender: Any, instance: Message, created: bool, **kwargs: Any) -> None:
    if created:
        event = "message.created"
    else:
        event = "message.deleted" if instance.deleted_at is not None else "message.updated"
    message = instance

    def queue() -> None:
        try:
            company_id = message.conversation.company_id  # the sender's own instance: held, no query
        except Conversation.DoesNotExist:
            return
        services.deliveries_queue(company_id=company_id, event=event, data=lambda: message_data(message))

    transaction.on_commit(queue, robust=True)


@receiver(post_save, sender=Space, dispatch_uid="webhooks.space_saved")
def on_space_saved(sender: Any, instance: Space, created: bool, **kwargs: Any) -> None:
    event = "space.created" if created else "space.updated"
    space_id, company_id = instance.id, instance.company_id

    def queue() -> None:
        try:
            data = SpaceOut(space_get(space_id=space_id)).data
        except Space.DoesNotExist:
            return
        services.deliveries_queue(company_id=company_id, event=event, data=dict(data))

    transaction.on_commit(queue, robust=True)


@receiver(post_delete, sender=Space, dispatch_uid="webhooks.space_deleted")
def on_space_deleted(sender: Any, instance: Space, **kwargs: Any) -> None:
    space_id, company_id = instance.id, instance.company_id
    transaction.on_commit(
        lambda: services.deliveries_queue(company_id=company_id, event="space.deleted", data={"id": space_id}),
        robust=True,
    )
