"""Admin for calls and teleport invitations: visible and searchable, but their lifecycle is read-only
(states only move forward through calling.services; an admin edit would bypass that)."""

from django.contrib import admin

from calling.models import Call, Teleport


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "id", "company", "caller", "callee", "kind", "state", "created_at", "expires_at", "ended_at", "duration",
    ]
    list_filter = ["company", "kind", "state"]
    search_fields = ["caller__username", "callee__username"]
    list_select_related = ["company", "caller", "callee"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "company", "caller", "callee", "kind", "state", "created_at", "expires_at", "answered_at", "ended_at",
        "ended_by", "duration",
    ]

    @admin.display(description="duration (s)")
    def duration(self, obj: Call) -> int | None:
        return obj.duration_seconds

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Teleport)
class TeleportAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "inviter", "invitee", "space", "state", "created_at", "expires_at"]
    list_filter = ["company", "state"]
    search_fields = ["inviter__username", "invitee__username", "space__name"]
    list_select_related = ["company", "inviter", "invitee", "space"]
    date_hierarchy = "created_at"
    readonly_fields = ["company", "inviter", "invitee", "space", "state", "created_at", "expires_at", "answered_at"]

    def has_add_permission(self, request) -> bool:
        return False
