from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "kind", "actor", "created_at", "read_at"]
    list_filter = ["company", "kind"]
    search_fields = ["recipient__username", "actor__username"]
    list_select_related = ["recipient", "actor"]
    raw_id_fields = ["recipient", "actor", "conversation", "message", "space", "call"]
