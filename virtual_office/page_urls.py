"""Server-rendered partials of the office page (menus, panels, toasts)."""


urlpatterns: list = []
