from django.urls import path

from spaces.api import views

urlpatterns = [
    path("spaces/", views.SpaceListView.as_view(), name="space-list"),
    path("spaces/<int:space_id>/", views.SpaceDetailView.as_view(), name="space-detail"),
    path("spaces/<int:space_id>/enter/", views.SpaceEnterView.as_view(), name="space-enter"),
    path("spaces/<int:space_id>/leave/", views.SpaceLeaveView.as_view(), name="space-leave"),
    path("spaces/<int:space_id>/remove/", views.SpaceRemoveView.as_view(), name="space-remove"),
    path("spaces/<int:space_id>/conversation/", views.SpaceConversationView.as_view(), name="space-conversation"),
    path("spaces/<int:space_id>/meeting/", views.SpaceMeetingView.as_view(), name="space-meeting"),
    path("spaces/<int:space_id>/knock/", views.SpaceKnockView.as_view(), name="space-knock"),
    path("knocks/<int:knock_id>/admit/", views.KnockAdmitView.as_view(), name="knock-admit"),
    path("knocks/<int:knock_id>/deny/", views.KnockDenyView.as_view(), name="knock-deny"),
]
