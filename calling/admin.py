from django.contrib import admin

from calling.models import Call, Teleport


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "caller", "callee", "kind", "state", "created_at", "expires_at", "ended_at"]
    list_filter = ["company", "kind", "state"]
    search_fields = ["caller__username", "callee__username"]
    list_select_related = ["company", "caller", "callee"]


@admin.register(Teleport)
class TeleportAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "inviter", "invitee", "space", "state", "created_at", "expires_at"]
    list_filter = ["company", "state"]
    search_fields = ["inviter__username", "invitee__username", "space__name"]
    list_select_related = ["company", "inviter", "invitee", "space"]
