from django.contrib import admin

from console.models import AuditEvent, CompanySettings, Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "company", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["company", "role"]
    search_fields = ["email"]
    readonly_fields = ["token_hash", "created_at", "accepted_at", "accepted_by", "invited_by"]


@admin.register(CompanySettings)
class CompanySettingsAdmin(admin.ModelAdmin):
    list_display = ["company", "idle_minutes", "quiet_timezone", "updated_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "company", "actor_name", "action", "target_type", "target_id", "ip"]
    list_filter = ["company", "action"]
    search_fields = ["actor_name", "action", "target_id"]
    list_select_related = ["company"]

    # The log is evidence: nobody edits or deletes its rows here.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
