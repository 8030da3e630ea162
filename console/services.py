"""Every write of the company console: invitations and sign-up, people (deactivate, activate, make or
unmake admin), the company's settings, and the audit log that records each of them.

Spaces are written through `spaces.services` (the console adds no second path); their audit rows
come from the `spaces.domain.space_changed` signal, so changes made through the REST API are
recorded the same way (`console.signals`).
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from console.context import current_ip
from console.models import AuditEvent, CompanySettings, Invitation, token_hash
from presence import services as presence_services
from virtual_office.errors import Conflict, Forbidden, ServiceError
from virtual_office.models import Company, User

logger = logging.getLogger(__name__)

LOGO_MAX_BYTES = 512 * 1024
# What a logo may be, by its first bytes (what it says it is counts for nothing). No SVG: it can
# carry script.
LOGO_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}


# -- audit log --------------------------------------------------------------------------------


def audit_record(
    *,
    action: str,
    company_id: int | None,
    actor: User | None = None,
    actor_name: str = "",
    target_type: str = "",
    target_id: int | str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """One audit row, in the caller's transaction (it stands or falls with the change it records)."""
    return AuditEvent.objects.create(
        company_id=company_id,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=(actor.username if actor is not None else actor_name)[:150],
        action=action,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id),
        detail=detail or {},
        ip=ip if ip is not None else current_ip(),
    )


def _require_admin(actor: User) -> int:
    if actor.company_id is None or not actor.is_company_admin or not actor.is_active:
        raise Forbidden("Only company admins can do this.", code="not_company_admin")
    return actor.company_id


# -- invitations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and its token: the only moment the token exists outside the link."""

    invitation: Invitation
    token: str


def invitation_create(
    *, actor: User, email: str, role: str = Invitation.Role.MEMBER, base_url: str
) -> IssuedInvitation:
    """Invite `email` into the actor's company; the link (under `base_url`) is mailed after commit."""
    company_id = _require_admin(actor)
    email = email.strip()
    if role not in Invitation.Role.values:
        raise ServiceError("invalid_role", f"role must be one of {', '.join(Invitation.Role.values)}.")
    if User.objects.filter(company_id=company_id, email__iexact=email, is_active=True).exists():
        raise Conflict("already_member", f"{email} already works here.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            company_id=company_id,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit_record(
            action="invitation.created",
            company_id=company_id,
            actor=actor,
            target_type="invitation",
            target_id=invitation.id,
            detail={"email": email, "role": role},
        )
        url = invitation_url(base_url, token)
        company_name = Company.objects.filter(pk=company_id).values_list("name", flat=True).first() or ""
        transaction.on_commit(lambda: _mail_invitation(invitation, url, company_name, actor.name), robust=True)
    return IssuedInvitation(invitation, token)


def invitation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/accounts/invite/{token}/"


def _mail_invitation(invitation: Invitation, url: str, company_name: str, inviter: str) -> None:
    """The invitation by mail. A mail server that refuses or is away loses nothing: the invitation
    stands, the console shows its link to pass on by hand, and the log says why no mail went out."""
    try:
        send_mail(
            subject=f"{inviter} invites you to {company_name} on Virtual Office",
            message=(
                f"{inviter} invites you to join {company_name} on Virtual Office.\n\n"
                f"Choose your password here (the link works once, until "
                f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{url}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("invitation %s: no mail went out to its address (%s: %s); the console shows its link",
                       invitation.id, type(exc).__name__, exc)


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    company_id = _require_admin(actor)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise Conflict("invitation_used", "This invitation was accepted already.")
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(
                action="invitation.revoked",
                company_id=company_id,
                actor=actor,
                target_type="invitation",
                target_id=invitation.id,
                detail={"email": invitation.email},
            )
    return invitation


class InvitationUnusable(ServiceError):
    """The link cannot sign anyone up: `code` says why (`invitation_expired`, `invitation_used`,
    `invitation_revoked`, `invitation_not_found`); the sign-up page shows a sentence for each."""

    status = 410


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    rows = Invitation.objects.select_related("company")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable("invitation_not_found", "This invitation link is not valid.", status=404)
    status = invitation.status
    if status == "accepted":
        raise InvitationUnusable("invitation_used", "This invitation was used already.")
    if status == "revoked":
        raise InvitationUnusable("invitation_revoked", "This invitation was withdrawn.")
    if status == "expired":
        raise InvitationUnusable("invitation_expired", "This invitation has expired.")
    return invitation


def invitation_accept(*, token: str, username: str, display_name: str, password: str) -> User:
    """Sign a new person up into the invitation's company, once. The password goes through Django's
    validators (AUTH_PASSWORD_VALIDATORS); the company's default quiet hours become theirs."""
    username = username.strip()
    with transaction.atomic():
        invitation = invitation_for_token(token, lock=True)
        user = User(
            company_id=invitation.company_id,
            username=username,
            display_name=display_name.strip(),
            email=invitation.email,
            is_company_admin=invitation.role == Invitation.Role.ADMIN,
        )
        password_validation.validate_password(password, user)
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("username_taken", f"The username {username!r} is taken.")
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise Conflict("username_taken", f"The username {username!r} is taken.") from None
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            action="invitation.accepted",
            company_id=invitation.company_id,
            actor=user,
            target_type="invitation",
            target_id=invitation.id,
            detail={"email": invitation.email, "role": invitation.role},
        )
        _apply_company_defaults(user)
    return user


def _apply_company_defaults(user: User) -> None:
    if user.company_id is None:
        return
    defaults = CompanySettings.objects.filter(company_id=user.company_id).first()
    if defaults is not None and defaults.has_quiet_hours:
        assert defaults.quiet_start is not None and defaults.quiet_end is not None
        presence_services.quiet_hours_set(
            actor=user,
            timezone_name=defaults.quiet_timezone or "UTC",
            days=list(defaults.quiet_days),
            start=defaults.quiet_start,
            end=defaults.quiet_end,
        )


# -- people -----------------------------------------------------------------------------------


def _locked_person(actor: User, person: User) -> User:
    company_id = _require_admin(actor)
    locked = User.objects.select_for_update().get(pk=person.pk)
    if locked.company_id != company_id:
        raise ServiceError("not_found", "No such person.", status=404)
    return locked


def user_deactivate(*, actor: User, person: User) -> User:
    """Sign a person out everywhere, at once: `is_active` off (their sockets close with 4401 after
    commit: presence's receiver), their sessions deleted, their API tokens deleted."""
    if person.pk == actor.pk:
        raise Conflict("cannot_deactivate_self", "You cannot deactivate yourself.")
    with transaction.atomic():
        person = _locked_person(actor, person)
        if not person.is_active:
            return person
        person.is_active = False
        person.save(update_fields=["is_active"])
        sessions = sessions_end(user_id=person.pk)
        tokens, _ = Token.objects.filter(user_id=person.pk).delete()
        audit_record(
            action="user.deactivated",
            company_id=person.company_id,
            actor=actor,
            target_type="user",
            target_id=person.pk,
            detail={"username": person.username, "sessions": sessions, "tokens": tokens},
        )
    return person


def sessions_end(*, user_id: int) -> int:
    """Delete every database session of a user. Sessions are not indexed by user (Django stores the
    user id inside the encoded data), so this reads the live ones; it runs on deactivation only."""
    if not settings.SESSION_ENGINE.endswith((".backends.db", ".backends.cached_db")):
        return 0  # other engines: the hub's periodic check still refuses the user (is_active off)
    store_class = Session.get_session_store_class()
    assert store_class is not None
    store = store_class()
    mine: list[str] = []
    for key, data in (
        Session.objects.filter(expire_date__gt=timezone.now()).values_list("session_key", "session_data").iterator()
    ):
        if str(store.decode(data).get("_auth_user_id")) == str(user_id):
            mine.append(key)
    if not mine:
        return 0
    if settings.SESSION_ENGINE.endswith(".backends.cached_db"):
        from django.core.cache import caches

        cache = caches[settings.SESSION_CACHE_ALIAS]
        cache.delete_many([f"django.contrib.sessions.cached_db{key}" for key in mine])
    deleted, _ = Session.objects.filter(session_key__in=mine).delete()
    return deleted


def user_activate(*, actor: User, person: User) -> User:
    with transaction.atomic():
        person = _locked_person(actor, person)
        if person.is_active:
            return person
        person.is_active = True
        person.save(update_fields=["is_active"])
        audit_record(
            action="user.activated",
            company_id=person.company_id,
            actor=actor,
            target_type="user",
            target_id=person.pk,
            detail={"username": person.username},
        )
    return person


def user_set_company_admin(*, actor: User, person: User, is_company_admin: bool) -> User:
    if person.pk == actor.pk and not is_company_admin:
        raise Conflict("cannot_demote_self", "You cannot take away your own admin role.")
    with transaction.atomic():
        person = _locked_person(actor, person)
        if person.is_company_admin == is_company_admin:
            return person
        person.is_company_admin = is_company_admin
        person.save(update_fields=["is_company_admin"])
        audit_record(
            action="user.role_changed",
            company_id=person.company_id,
            actor=actor,
            target_type="user",
            target_id=person.pk,
            detail={"username": person.username, "is_company_admin": is_company_admin},
        )
    return person


# -- company settings -------------------------------------------------------------------------


def company_settings_get_or_create(company_id: int) -> CompanySettings:
    row, _ = CompanySettings.objects.get_or_create(company_id=company_id)
    return row


def logo_validate(upload: UploadedFile) -> str:
    """The logo's file type, from its first bytes; too large or not a PNG, JPEG, GIF or WebP: refused."""
    if (upload.size or 0) > LOGO_MAX_BYTES:
        raise ServiceError("logo_too_large", f"The logo may be at most {LOGO_MAX_BYTES // 1024} KB.", status=413)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for kind, signatures in LOGO_SIGNATURES.items():
        if head.startswith(signatures) and (kind != "webp" or head[8:12] == b"WEBP"):
            return kind
    raise ServiceError("logo_type", "The logo must be a PNG, JPEG, GIF or WebP image.", status=415)


def company_settings_update(
    *,
    actor: User,
    name: str | None = None,
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
    idle_minutes: int | None = None,
    quiet_hours: tuple[str, list[int], time, time] | None = None,
    clear_quiet_hours: bool = False,
) -> CompanySettings:
    """Change the company's name, logo and default status policy. `quiet_hours` is (timezone, days,
    start, end), validated by presence's QuietHoursIn."""
    company_id = _require_admin(actor)
    kind = logo_validate(logo) if logo is not None else None
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company_id)
        row = company_settings_get_or_create(company_id)
        changed: dict[str, Any] = {}
        if name is not None and name.strip() and name.strip() != company.name:
            changed["name"] = {"from": company.name, "to": name.strip()}
            company.name = name.strip()
            company.save(update_fields=["name"])
        if logo is not None:
            if row.logo:
                row.logo.delete(save=False)
            row.logo.save(f"logo.{kind}", logo, save=False)
            changed["logo"] = "replaced"
        elif remove_logo and row.logo:
            row.logo.delete(save=False)
            changed["logo"] = "removed"
        if idle_minutes != row.idle_minutes:
            changed["idle_minutes"] = {"from": row.idle_minutes, "to": idle_minutes}
            row.idle_minutes = idle_minutes
            presence_services.company_idle_set(
                company_id=company_id, idle_seconds=idle_minutes * 60 if idle_minutes else None
            )
        if clear_quiet_hours and row.has_quiet_hours:
            row.quiet_timezone, row.quiet_days, row.quiet_start, row.quiet_end = "", [], None, None
            changed["quiet_hours"] = None
        elif quiet_hours is not None:
            zone, days, start, end = quiet_hours
            new = (zone, sorted(set(days)), start, end)
            if new != (row.quiet_timezone, row.quiet_days, row.quiet_start, row.quiet_end):
                row.quiet_timezone, row.quiet_days, row.quiet_start, row.quiet_end = new
                changed["quiet_hours"] = {
                    "timezone": zone,
                    "days": new[1],
                    "start": f"{start:%H:%M}",
                    "end": f"{end:%H:%M}",
                }
        row.save()
        if changed:
            audit_record(
                action="company.updated",
                company_id=company_id,
                actor=actor,
                target_type="company",
                target_id=company_id,
                detail=changed,
            )
    return row
