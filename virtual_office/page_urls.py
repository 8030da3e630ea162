"""Server-rendered partials of the office page (menus, panels, toasts)."""

from django.urls import path

from virtual_office import office_page

urlpatterns = [
    path("people/<int:user_id>/menu/", office_page.avatar_menu, name="avatar-menu"),
]
