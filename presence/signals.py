"""Signal receivers: hand committed presence changes to presence.events. No business rules here."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from presence import events
from presence.models import CompanyIdlePolicy, Presence
from virtual_office.models import User


@receiver(post_save, sender=Presence, dispatch_uid="presence.presence_saved")
def on_presence_saved(sender, instance: Presence, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_seen", "updated_at"}:
        return
    if Presence.user.is_cached(instance):
        company_id = instance.user.company_id
    else:
        company_id = User.objects.filter(pk=instance.user_id).values_list("company_id", flat=True).first()
    events.presence_saved(instance, company_id)


@receiver(post_save, sender=User, dispatch_uid="presence.user_created")
def on_user_created(sender, instance: User, created: bool, **kwargs) -> None:
    if created:
        company_id = instance.company_id
        policy = CompanyIdlePolicy.objects.filter(company_id=company_id).first() if company_id else None
        idle_seconds = policy.idle_seconds if policy else None
        Presence.objects.get_or_create(user=instance, defaults={"idle_seconds": idle_seconds})


@receiver(post_save, sender=User, dispatch_uid="presence.user_deactivated")
def on_user_deactivated(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    # Sockets of a deactivated user close at once (the periodic check would take up to 30 s).
    if not created and not instance.is_active and (update_fields is None or "is_active" in update_fields):
        events.user_sockets_close(instance.id)
