from django.urls import path

from notifications.api import views

urlpatterns = [
    # Before presence's `me/` in virtual_office/urls.py: the same answer, plus the unread count.
    path("me/", views.MeView.as_view(), name="me"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/read/", views.NotificationReadView.as_view(), name="notification-read"),
]
