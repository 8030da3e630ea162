"""The console's single sign-on page, mounted under /manage/."""

from django.urls import path

from sso import views

urlpatterns = [
    path("sso/", views.sign_on_settings, name="sso-settings"),
]
