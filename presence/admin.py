from django.contrib import admin

from presence.models import Connection, Presence, QuietHours


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "status_text", "status_until", "connected", "current_space", "last_seen"]
    list_filter = ["status", "connected", "user__company"]
    search_fields = ["user__username", "user__display_name"]
    list_select_related = ["user", "current_space"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["channel_name", "user", "server_id", "opened_at", "heartbeat_at"]
    list_filter = ["server_id"]
    search_fields = ["user__username", "channel_name"]
    list_select_related = ["user"]


@admin.register(QuietHours)
class QuietHoursAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "days", "start", "end", "updated_at"]
    search_fields = ["user__username", "user__display_name"]
    list_select_related = ["user"]
