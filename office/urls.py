"""The office page (`/`) and its server-rendered partials (menus, panels, toasts) under `/office/`."""

from django.urls import path

from office import views

urlpatterns = [
    path("", views.office, name="office"),
    path("office/people/<int:user_id>/menu/", views.avatar_menu, name="avatar-menu"),
]
