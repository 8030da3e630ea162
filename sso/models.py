"""A company's OpenID Connect sign-in: which provider (an allauth SocialApp) and which email domains.

allauth keeps the provider's issuer, client id and secret in its own `SocialApp` (provider
`openid_connect`, one `provider_id` per company), which is where its views look for them; this row
ties that app to one company and says which people it may sign in.
"""

from __future__ import annotations

from allauth.socialaccount.models import SocialApp
from django.db import models

from virtual_office.models import Company

PROVIDER = "openid_connect"


def provider_id_for(company: Company) -> str:
    """The provider's id in URLs (`/accounts/oidc/<provider_id>/login/`)."""
    return f"company-{company.slug}"


class CompanySignOn(models.Model):
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="sign_on")
    app = models.OneToOneField(SocialApp, on_delete=models.CASCADE, related_name="company_sign_on")
    # Lower-case domains, one per line: people whose verified email is at one of them may sign in,
    # and sign up into this company the first time.
    email_domains = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "company sign-on"

    def __str__(self) -> str:
        return f"{self.company} via {self.app.settings.get('server_url', '?')}"

    @property
    def domains(self) -> list[str]:
        return [line.strip() for line in self.email_domains.splitlines() if line.strip()]

    @property
    def issuer(self) -> str:
        return str(self.app.settings.get("server_url", ""))
