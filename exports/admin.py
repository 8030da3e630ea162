from django.contrib import admin

from exports.models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "requested_by", "scope", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status", "scope"]
    readonly_fields = ["company", "requested_by", "scope", "file", "created_at", "started_at", "finished_at"]
