"""What django-allauth asks us while someone signs in through their company's provider.

Who may sign in is decided here, by the company and the email domain: the provider (one allauth
`SocialApp` per company) names the company; the person's email, as the provider vouches for it
(`email_verified`), must be at one of that company's domains. A person of that company with that
email is signed in as themselves (their provider account is linked the first time); anyone else at
those domains joins the company on first sign-in. Nobody signs up any other way (invitations are
the console's business), and nobody is ever signed in to another company's account.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.utils import user_email, user_username
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest
from django.shortcuts import render

from sso.models import CompanySignOn
from sso.selectors import email_domain, sign_on_for_provider
from virtual_office.models import User

REFUSED_TEMPLATE = "sso/refused.html"


class ClosedAccountAdapter(DefaultAccountAdapter):
    """allauth's own sign-up form stays closed: people join by invitation or their company's sign-on."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


def refuse(request: HttpRequest, reason: str, *, status: int = 403) -> ImmediateHttpResponse:
    return ImmediateHttpResponse(render(request, REFUSED_TEMPLATE, {"reason": reason}, status=status))


def _sign_on(sociallogin: SocialLogin) -> CompanySignOn | None:
    sign_on = sign_on_for_provider(sociallogin.account.provider)
    return sign_on if sign_on is not None and sign_on.enabled else None


def _verified_email(sociallogin: SocialLogin) -> str | None:
    email = (user_email(sociallogin.user) or "").strip().lower()
    for address in sociallogin.email_addresses:
        if address.email.strip().lower() == email and address.verified:
            return email
    return None


class CompanySocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> User:
        user = super().populate_user(request, sociallogin, data)
        sign_on = _sign_on(sociallogin)
        if sign_on is not None:
            user.company = sign_on.company
        email = data.get("email") or ""
        names = [data.get("username"), email.partition("@")[0], "user"]
        user_username(user, get_account_adapter(request).generate_unique_username(names))
        user.display_name = (data.get("name") or "").strip()[:120]
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        sign_on = _sign_on(sociallogin)
        if sign_on is None:
            raise refuse(request, "Single sign-on is not set up for this company any more.")
        email = _verified_email(sociallogin)
        if email is None:
            raise refuse(request, "Your identity provider did not confirm your email address.")
        if email_domain(email) not in sign_on.domains:
            raise refuse(
                request,
                f"{sign_on.company.name} signs in people at {', '.join(sign_on.domains)}; "
                f"your provider says you are {email}.",
            )
        if sociallogin.is_existing:
            if sociallogin.user.company_id != sign_on.company_id:
                raise refuse(request, "This sign-in belongs to another company.")
            return
        colleague = User.objects.filter(company=sign_on.company, email__iexact=email).order_by("id").first()
        if colleague is not None:
            if not colleague.is_active:
                raise refuse(request, "Your account has been deactivated. Ask a company admin.")
            sociallogin.connect(request, colleague)

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # pre_social_login already refused anyone outside the company's domains.
        return _sign_on(sociallogin) is not None

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        sign_on = _sign_on(sociallogin)
        if sign_on is None:  # removed between the provider's answer and now
            raise refuse(request, "Single sign-on is not set up for this company any more.")
        sociallogin.user.company = sign_on.company
        user: User = super().save_user(request, sociallogin, form)
        return user
