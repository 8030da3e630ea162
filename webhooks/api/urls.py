from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/deliveries/", views.DeliveryListView.as_view(), name="webhook-deliveries"),
]
