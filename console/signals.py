"""Signal receivers that write the audit log: sign-ins and failed sign-ins (Django's auth signals,
also sent by the API's token login), space changes (`spaces.domain.space_changed`) and messages
deleted by someone other than their sender (`messaging.domain.message_deleted_by_other`) and
single sign-on set up, changed or removed (`sso.domain.sign_on_changed`). Each row
is written in the transaction of the change it records. No business rules here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from console.context import client_ip_of
from console.services import audit_record
from messaging.domain import message_deleted_by_other
from spaces.domain import space_changed
from sso.domain import sign_on_changed
from virtual_office.models import User


def _via(request: Any) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/api/"):
        return "token"
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/accounts/invite/"):
        return "invitation"
    return "session"


def _ip(request: Any) -> str | None:
    return client_ip_of(request) if request is not None and hasattr(request, "META") else None


@receiver(user_logged_in, dispatch_uid="console.audit_login")
def on_logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit_record(
        action="login",
        company_id=user.company_id,
        actor=user,
        target_type="user",
        target_id=user.pk,
        detail={"via": _via(request)},
        ip=_ip(request),
    )


@receiver(user_login_failed, dispatch_uid="console.audit_login_failed")
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")[:150]
    # The company whose person this username names (an unknown name belongs to nobody's log).
    known = User.objects.filter(username=username).values_list("pk", "company_id").first() if username else None
    audit_record(
        action="login.failed",
        company_id=known[1] if known else None,
        actor_name=username,
        target_type="user" if known else "",
        target_id=known[0] if known else None,
        detail={"via": _via(request), "username": username},
        ip=_ip(request),
    )


@receiver(space_changed, dispatch_uid="console.audit_space_changed")
def on_space_changed(sender: Any, actor: User, space: Any, action: str, changes: dict, **kwargs: Any) -> None:
    audit_record(
        action=action,
        company_id=space.company_id,
        actor=actor,
        target_type="space",
        target_id=space.pk,
        detail={"name": space.name, **({"changes": changes} if changes else {})},
    )


@receiver(message_deleted_by_other, dispatch_uid="console.audit_message_deleted")
def on_message_deleted_by_other(sender: Any, actor: User, message: Any, **kwargs: Any) -> None:
    audit_record(
        action="message.deleted_by_admin",
        company_id=actor.company_id,
        actor=actor,
        target_type="message",
        target_id=message.pk,
        detail={"conversation": message.conversation_id, "sender": message.sender_id},
    )


@receiver(sign_on_changed, dispatch_uid="console.audit_sign_on_changed")
def on_sign_on_changed(sender: Any, actor: User, company: Any, action: str, detail: dict, **kwargs: Any) -> None:
    audit_record(
        action=action,
        company_id=company.pk,
        actor=actor,
        target_type="company",
        target_id=company.pk,
        detail=detail,
    )
