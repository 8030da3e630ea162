"""Admin for talks: who is in which space's talk now (rows come and go with sockets: read-only)."""

from django.contrib import admin
from django.http import HttpRequest

from talk.models import TalkParticipant


@admin.register(TalkParticipant)
class TalkParticipantAdmin(admin.ModelAdmin):
    list_display = ["id", "space", "user", "audio", "video", "screen", "joined_at"]
    list_filter = ["audio", "video", "screen"]
    search_fields = ["user__username", "space__name"]
    list_select_related = ["space", "user"]
    readonly_fields = ["space", "user", "channel_name", "audio", "video", "screen", "joined_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
