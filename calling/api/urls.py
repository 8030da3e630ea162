from django.urls import path

from calling.api import views

urlpatterns = [
    path("calls/", views.CallListView.as_view(), name="call-list"),
    path("calls/<int:call_id>/", views.CallDetailView.as_view(), name="call-detail"),
    path("calls/<int:call_id>/accept/", views.CallAcceptView.as_view(), name="call-accept"),
    path("calls/<int:call_id>/decline/", views.CallDeclineView.as_view(), name="call-decline"),
    path("calls/<int:call_id>/cancel/", views.CallCancelView.as_view(), name="call-cancel"),
    path("calls/<int:call_id>/end/", views.CallEndView.as_view(), name="call-end"),
    path("teleports/", views.TeleportListView.as_view(), name="teleport-list"),
    path("teleports/<int:teleport_id>/", views.TeleportDetailView.as_view(), name="teleport-detail"),
    path("teleports/<int:teleport_id>/accept/", views.TeleportAcceptView.as_view(), name="teleport-accept"),
    path("teleports/<int:teleport_id>/decline/", views.TeleportDeclineView.as_view(), name="teleport-decline"),
]
