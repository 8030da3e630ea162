"""Writes of companies' sign-on settings (company admins, from the console)."""

from __future__ import annotations

import re

from allauth.socialaccount.models import SocialApp
from django.db import transaction

from sso.domain import sign_on_changed
from sso.models import PROVIDER, CompanySignOn, provider_id_for
from virtual_office.errors import ServiceError
from virtual_office.models import Company, User

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _admin_company(actor: User) -> Company:
    if not actor.is_company_admin or actor.company is None:
        raise ServiceError("forbidden", "Only company admins can set up single sign-on.", status=403)
    return actor.company


def parse_domains(text: str) -> list[str]:
    """Domains from a textarea (one per line, or separated by commas or spaces), lower-cased."""
    domains = sorted({part.strip().lower().lstrip("@") for part in re.split(r"[\s,]+", text) if part.strip()})
    bad = [domain for domain in domains if not DOMAIN.match(domain)]
    if bad:
        raise ServiceError("invalid_email_domains", f"Not an email domain: {', '.join(bad)}.")
    return domains


@transaction.atomic
def sign_on_set(
    *, actor: User, issuer: str, client_id: str, secret: str, email_domains: list[str], enabled: bool
) -> CompanySignOn:
    """Create or change the company's OpenID Connect sign-in. An empty `secret` keeps the stored one."""
    company = _admin_company(actor)
    issuer = issuer.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", issuer):
        raise ServiceError("invalid_issuer", "The issuer must be an http(s) URL.")
    if not client_id.strip():
        raise ServiceError("invalid_client_id", "The client id is required.")
    if not email_domains:
        raise ServiceError("invalid_email_domains", "Name at least one email domain whose people may sign in.")
    taken = [
        domain
        for other in CompanySignOn.objects.exclude(company=company)
        for domain in other.domains
        if domain in email_domains
    ]
    if taken:
        raise ServiceError(
            "email_domain_taken", f"Another company signs in people at {', '.join(sorted(taken))}.", status=409
        )
    existing = CompanySignOn.objects.select_related("app").select_for_update().filter(company=company).first()
    if existing is None and not secret:
        raise ServiceError("invalid_secret", "The client secret is required.")
    app = existing.app if existing else SocialApp(provider=PROVIDER, provider_id=provider_id_for(company))
    app.name = company.name
    app.client_id = client_id.strip()
    if secret:
        app.secret = secret
    # PKCE on: providers that require it (django-oauth-toolkit does by default) and those that
    # do not both accept it.
    app.settings = {**(app.settings or {}), "server_url": issuer, "oauth_pkce_enabled": True}
    app.save()
    sign_on = existing or CompanySignOn(company=company, app=app)
    sign_on.email_domains = "\n".join(email_domains)
    sign_on.enabled = enabled
    sign_on.save()
    detail = {
        "issuer": issuer,
        "client_id": app.client_id,
        "email_domains": email_domains,
        "enabled": enabled,
        "secret_changed": bool(secret),
    }
    sign_on_changed.send(CompanySignOn, actor=actor, company=company, action="sso.updated", detail=detail)
    return sign_on


@transaction.atomic
def sign_on_delete(*, actor: User) -> None:
    company = _admin_company(actor)
    sign_on = CompanySignOn.objects.filter(company=company).select_related("app").first()
    if sign_on is not None:
        detail = {"issuer": sign_on.issuer, "email_domains": sign_on.domains}
        sign_on.app.delete()  # cascades to the sign-on row and the people's linked provider accounts
        sign_on_changed.send(CompanySignOn, actor=actor, company=company, action="sso.deleted", detail=detail)
