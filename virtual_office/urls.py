from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from virtual_office import accounts, views

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", views.AuthTokenView.as_view(), name="auth-token"),
    # notifications answers `me/` (presence's answer plus the unread count), so it comes first.
    path("", include("notifications.api.urls")),
    path("", include("presence.api.urls")),
    path("", include("spaces.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("calling.api.urls")),
    path("", include("talk.api.urls")),
    path("", include("search.api.urls")),
    path("", include("console.api.urls")),
    path("", include("exports.api.urls")),
    path("", include("webhooks.api.urls")),
]

# JSON errors for /api/ paths that no view matched or that crashed (HTML pages elsewhere).
handler400 = "virtual_office.views.bad_request"
handler403 = "virtual_office.views.permission_denied"
handler404 = "virtual_office.views.not_found"
handler500 = "virtual_office.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        accounts.login_throttled(auth_views.LoginView.as_view(template_name="registration/login.html")),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on: /accounts/sso/ (from a work email) and allauth's /accounts/oidc/<provider>/...
    path("accounts/", include("sso.urls")),
    path("manage/", include("sso.manage_urls")),
    # The admin's own sign-in form, under the same login budgets (before the admin's URLs).
    path("admin/login/", accounts.login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
    path("api/v1/", include(api_v1)),
    # The company console (/manage/), invitation sign-up and password reset (/accounts/...).
    path("", include("console.urls")),
    # Export pages (/manage/export/, /exports/mine/) and the webhooks pages (/manage/webhooks/).
    path("", include("exports.urls")),
    path("", include("webhooks.urls")),
    # The page, last: the app at the top of the layers (the core imports no app, not even its URLs).
    path("", include("office.urls")),
]
