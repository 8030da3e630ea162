from django.urls import path

from webhooks import views

urlpatterns = [
    path("manage/webhooks/", views.webhook_index, name="console-webhooks"),
    path("manage/webhooks/<int:webhook_id>/", views.webhook_detail, name="console-webhook"),
    path("manage/webhooks/<int:webhook_id>/remove/", views.webhook_remove, name="console-webhook-remove"),
]
