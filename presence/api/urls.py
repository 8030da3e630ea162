from django.urls import path

from presence.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("presence/", views.PresenceView.as_view(), name="presence"),
    path("presence/schedule/", views.QuietHoursView.as_view(), name="presence-schedule"),
]
