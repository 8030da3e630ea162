"""The console's pages under /manage/, the company logo, invitation sign-up and password reset
(Django's own views, templates in templates/registration/)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from console import views
from virtual_office.accounts import reset_throttled

urlpatterns = [
    path("manage/", views.home, name="console"),
    path("manage/people/", views.people, name="console-people"),
    path("manage/people/invite/", views.invite, name="console-invite"),
    path("manage/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="console-invitation-revoke"),
    path("manage/people/<int:user_id>/<str:action>/", views.person_action, name="console-person-action"),
    path("manage/spaces/", views.spaces, name="console-spaces"),
    path("manage/spaces/new/", views.space_create, name="console-space-create"),
    path("manage/spaces/<int:space_id>/", views.space_edit, name="console-space-edit"),
    path("manage/spaces/<int:space_id>/status/", views.space_status, name="console-space-status"),
    path("manage/spaces/<int:space_id>/delete/", views.space_delete, name="console-space-delete"),
    path("manage/settings/", views.company_settings, name="console-settings"),
    path("manage/audit/", views.audit, name="console-audit"),
    path("company/logo/", views.company_logo, name="company-logo"),
    path("accounts/invite/<str:token>/", views.invitation_signup, name="invitation-signup"),
    path("accounts/password_reset/", reset_throttled(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path("accounts/password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
