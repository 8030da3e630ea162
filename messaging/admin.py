from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from guardian.admin import GuardedModelAdmin

from messaging import services
from messaging.models import Attachment, Conversation, Message, Participant, Reaction


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ["user", "is_active", "last_read_seq", "joined_at", "left_at"]
    readonly_fields = ["joined_at"]
    raw_id_fields = ["user"]


@admin.register(Conversation)
class ConversationAdmin(GuardedModelAdmin):
    list_display = ["__str__", "company", "kind", "space", "rev", "last_activity_at"]
    list_filter = ["company", "kind"]
    search_fields = ["title"]
    readonly_fields = ["rev", "direct_key"]
    list_select_related = ["company", "space"]
    inlines = [ParticipantInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "seq", "rev", "kind", "sender", "short_body", "created_at", "deleted_at"]
    list_filter = ["kind", "conversation__company", "conversation__kind"]
    search_fields = ["body", "client_id"]
    readonly_fields = [
        "conversation", "seq", "rev", "kind", "sender", "body_html", "mentions", "reply_to", "thread_root",
        "reply_count", "client_id", "created_at", "edited_at", "deleted_at",
    ]
    list_select_related = ["conversation", "sender"]

    @admin.display(description="body")
    def short_body(self, obj: Message) -> str:
        return obj.body[:80]

    def save_model(self, request, obj: Message, form, change: bool) -> None:
        # Through the service: an operator's edit takes the next rev and reaches sockets like any other.
        if change:
            services.message_admin_save(message=obj, changed=form.changed_data)
        else:
            super().save_model(request, obj, form, change)

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj: Message) -> None:
        services.message_delete(actor=request.user, message=obj)

    def delete_queryset(self, request, queryset) -> None:
        for message in queryset:
            services.message_delete(actor=request.user, message=message)


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ["emoji", "message", "user", "created_at"]
    search_fields = ["emoji", "user__username"]
    list_select_related = ["message", "user"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Files are never public (/media/ is not served): operators download them here, people through
    `GET /api/v1/attachments/{id}/`."""

    list_display = ["name", "company", "message", "size", "content_type", "created_at"]
    list_filter = ["company", "content_type"]
    search_fields = ["name"]
    exclude = ["file"]
    readonly_fields = ["download", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # attachments come with messages

    def get_urls(self) -> list:
        download = path(
            "<int:attachment_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="messaging_attachment_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, attachment_id: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        attachment = get_object_or_404(Attachment, pk=attachment_id)
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404("The attachment's file is gone.") from None
        response = FileResponse(handle, as_attachment=True, filename=attachment.name)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.display(description="File")
    def download(self, obj: Attachment) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:messaging_attachment_download", args=[obj.pk])
        return format_html('<a href="{}">Download {}</a>', url, obj.name)
