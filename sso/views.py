"""Single sign-on pages: starting a sign-in from a work email, the console's settings page, and
the few pages allauth links to."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.socialaccount.providers.openid_connect import views as oidc_views
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from sso import selectors, services
from sso.models import CompanySignOn
from sso.selectors import sign_on_for_email
from virtual_office.errors import ServiceError
from virtual_office.tenancy import AuthenticatedHttpRequest

LOGIN_TEMPLATE = "registration/login.html"
SETTINGS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class SignOnForm:
    """What the settings form shows: the saved values, or what was just sent (never the secret)."""

    issuer: str
    client_id: str
    email_domains: str
    enabled: bool

    @classmethod
    def of(cls, sign_on: CompanySignOn | None) -> SignOnForm:
        if sign_on is None:
            return cls(issuer="", client_id="", email_domains="", enabled=True)
        return cls(sign_on.issuer, sign_on.app.client_id, "\n".join(sign_on.domains), sign_on.enabled)


@require_POST
def sso_start(request: HttpRequest) -> HttpResponse:
    """The sign-in page's "single sign-on" form: find the company by the email's domain and hand over
    to allauth, which sends the browser to that company's provider."""
    email = request.POST.get("email", "").strip()
    sign_on = sign_on_for_email(email) if len(email) <= 254 else None
    if sign_on is None:
        return render(
            request,
            LOGIN_TEMPLATE,
            {
                "sso_email": email,
                "sso_error": "No single sign-on is set up for that address. Sign in with your password.",
                "next": request.POST.get("next", "/"),
            },
            status=400,
        )
    return oidc_views.login(request, provider_id=sign_on.app.provider_id)


def account_inactive(request: HttpRequest) -> HttpResponse:
    return render(
        request, "sso/refused.html", {"reason": "Your account has been deactivated. Ask a company admin."}, status=403
    )


@login_required
def sign_on_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`/manage/sso/`: a company admin sets the company's OpenID Connect provider."""
    user = request.user
    if not user.is_company_admin or user.company is None:
        raise PermissionDenied("Only company admins can set up single sign-on.")
    sign_on = selectors.sign_on_get(user.company)
    form = SignOnForm.of(sign_on)
    error = None
    status = 200
    if request.method == "POST":
        if request.POST.get("delete"):
            services.sign_on_delete(actor=user)
            messages.success(request, "Single sign-on is off.")
            return redirect("sso-settings")
        form = SignOnForm(
            issuer=request.POST.get("issuer", ""),
            client_id=request.POST.get("client_id", ""),
            email_domains=request.POST.get("email_domains", ""),
            enabled=request.POST.get("enabled") == "on",
        )
        try:
            services.sign_on_set(
                actor=user,
                issuer=form.issuer,
                client_id=form.client_id,
                secret=request.POST.get("secret", ""),
                email_domains=services.parse_domains(form.email_domains),
                enabled=form.enabled,
            )
        except ServiceError as refused:
            error, status = refused.message, refused.status
        else:
            messages.success(request, "Single sign-on saved.")
            return redirect("sso-settings")
    callback = None
    if sign_on is not None:
        callback = request.build_absolute_uri(f"/accounts/oidc/{sign_on.app.provider_id}/login/callback/")
    response = render(
        request,
        "sso/settings.html",
        {"form": form, "sign_on": sign_on, "error": error, "callback_url": callback, "section": "sso"},
        status=status,
    )
    # A console page: never cached, and as strict as the console's own pages.
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = SETTINGS_CSP
    return response
