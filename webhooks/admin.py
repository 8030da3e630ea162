from django.contrib import admin

from webhooks.models import Attempt, Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "url", "created_at"]
    list_filter = ["company"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook", "event", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event"]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["id", "delivery", "at", "status_code", "error", "duration_ms"]
