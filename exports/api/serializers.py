from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports.models import Export


class ExportIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=Export.Scope.choices, default=Export.Scope.COMPANY)


class ExportOut(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "scope", "status", "progress", "download", "created_at", "finished_at"]

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, export: Export) -> str | None:
        """The zip's address once it is built (null before): served to whoever may see the export."""
        if export.status != Export.Status.DONE:
            return None
        path = reverse("export-download", args=[export.id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
