"""Single sign-on URLs, mounted under /accounts/ (allauth's OpenID Connect views at /accounts/oidc/)."""

from django.urls import include, path
from django.views.generic import RedirectView

from sso import views

urlpatterns = [
    path("sso/", views.sso_start, name="sso-start"),
    # /accounts/oidc/<provider_id>/login/ and .../login/callback/
    path("", include("allauth.socialaccount.providers.openid_connect.urls")),
    # allauth's own error, cancel and sign-up pages of a provider's sign-in.
    path("3rdparty/", include("allauth.socialaccount.urls")),
    # The names allauth links to, pointed at this project's own pages: sign-in is /accounts/login/,
    # and there is no open sign-up.
    path("inactive/", views.account_inactive, name="account_inactive"),
    path("signin/", RedirectView.as_view(pattern_name="login"), name="account_login"),
    path("signup/", RedirectView.as_view(pattern_name="login"), name="account_signup"),
    path("signout/", RedirectView.as_view(pattern_name="logout"), name="account_logout"),
]
