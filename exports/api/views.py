"""REST views of exports: ask for one, follow its progress, download its zip."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from exports import services
from exports.api.serializers import ExportIn, ExportOut
from exports.models import Export
from exports.permissions import access_export
from virtual_office.api import errors
from virtual_office.errors import Conflict
from virtual_office.tenancy import AuthenticatedRequest


class ExportListView(APIView):
    @extend_schema(
        request=ExportIn,
        responses={201: ExportOut, **errors(400, 401, 403, 409)},
        summary="Export the company's data (company admins) or, with scope `mine`, my own messages",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.export_request(actor=request.user, scope=data.validated_data["scope"])
        return Response(ExportOut(export, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ExportDetailView(APIView):
    @extend_schema(responses={200: ExportOut, **errors(401, 403, 404)}, summary="An export's status and progress")
    def get(self, request: AuthenticatedRequest, export_id: int) -> Response:
        export = access_export(request.user, export_id)
        return Response(ExportOut(export, context={"request": request}).data)


class ExportDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip of JSON files"),
            **errors(401, 403, 404, 409),
        },
        summary="Download a built export",
    )
    def get(self, request: AuthenticatedRequest, export_id: int) -> FileResponse:
        export = access_export(request.user, export_id)
        if export.status != Export.Status.DONE or not export.file:
            raise Conflict("export_not_ready", "This export is not built (yet).")
        response = FileResponse(
            export.file.open("rb"),
            as_attachment=True,
            filename=f"virtual-office-{export.scope}-export-{export.id}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response
