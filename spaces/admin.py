from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from spaces.models import Knock, Meeting, Space


class MeetingInline(admin.TabularInline):
    model = Meeting
    extra = 0
    fields = ["title", "started_by", "started_at", "ended_at"]
    readonly_fields = ["started_at"]


@admin.register(Space)
class SpaceAdmin(GuardedModelAdmin):
    list_display = ["name", "company", "kind", "status", "capacity", "is_private"]
    list_filter = ["company", "kind", "status", "is_private"]
    search_fields = ["name"]
    list_select_related = ["company"]
    inlines = [MeetingInline]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "started_by", "started_at", "ended_at"]
    list_filter = ["space__company"]
    search_fields = ["title", "space__name"]
    list_select_related = ["space", "started_by"]


@admin.register(Knock)
class KnockAdmin(admin.ModelAdmin):
    list_display = ["space", "user", "status", "created_at", "expires_at", "answered_by"]
    list_filter = ["space__company", "status"]
    search_fields = ["space__name", "user__username", "note"]
    list_select_related = ["space", "user", "answered_by"]
    raw_id_fields = ["user", "answered_by", "space"]
