from django.urls import path

from console.api import views

urlpatterns = [
    path("invitations/", views.InvitationListView.as_view(), name="invitation-list"),
    path("invitations/<int:invitation_id>/", views.InvitationDetailView.as_view(), name="invitation-detail"),
    path("users/<int:user_id>/", views.PersonDetailView.as_view(), name="person-detail"),
    path("users/<int:user_id>/deactivate/", views.PersonDeactivateView.as_view(), name="person-deactivate"),
    path("users/<int:user_id>/activate/", views.PersonActivateView.as_view(), name="person-activate"),
    path("audit/", views.AuditListView.as_view(), name="audit-list"),
    path("audit/export.csv", views.AuditExportView.as_view(), name="audit-export"),
]
