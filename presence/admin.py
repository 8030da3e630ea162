from django.contrib import admin

from presence.models import Connection, Presence


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "connected", "current_space", "last_seen"]
    list_filter = ["status", "connected", "user__company"]
    search_fields = ["user__username", "user__display_name"]
    list_select_related = ["user", "current_space"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["channel_name", "user", "server_id", "opened_at", "heartbeat_at"]
    list_filter = ["server_id"]
    search_fields = ["user__username", "channel_name"]
    list_select_related = ["user"]
