"""Reads of companies' sign-on settings."""

from __future__ import annotations

from sso.models import CompanySignOn
from virtual_office.models import Company


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def sign_on_for_email(email: str) -> CompanySignOn | None:
    """The enabled sign-on whose domains hold this address's domain (at most one: domains are kept
    unique across companies by `sign_on_set`)."""
    domain = email_domain(email)
    if not domain or "@" not in email:
        return None
    for sign_on in CompanySignOn.objects.filter(enabled=True, email_domains__icontains=domain).select_related(
        "company", "app"
    ):
        if domain in sign_on.domains:
            return sign_on
    return None


def sign_on_for_provider(provider_id: str) -> CompanySignOn | None:
    return CompanySignOn.objects.select_related("company", "app").filter(app__provider_id=provider_id).first()


def sign_on_get(company: Company) -> CompanySignOn | None:
    return CompanySignOn.objects.select_related("app").filter(company=company).first()
