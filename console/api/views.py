"""REST views of the company console (company admins): invitations, people, the audit log."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from console import selectors, services
from console.api.serializers import (
    AuditOut,
    AuditQueryIn,
    InvitationCreatedOut,
    InvitationIn,
    InvitationOut,
    MemberAccountOut,
    MemberRoleIn,
)
from console.audit_csv import audit_csv_lines
from console.permissions import IsCompanyAdmin, access_invitation, access_person
from virtual_office.api import errors
from virtual_office.inputs import validated
from virtual_office.tenancy import AuthenticatedRequest


def _company(request: AuthenticatedRequest) -> int:
    assert request.user.company_id is not None  # IsCompanyAdmin let only company members in
    return request.user.company_id


class InvitationListView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(responses={200: InvitationOut(many=True), **errors(401, 403)}, summary="My company's invitations")
    def get(self, request: AuthenticatedRequest) -> Response:
        rows = selectors.invitation_list(company_id=_company(request))
        return Response(InvitationOut(rows, many=True).data)

    @extend_schema(
        request=InvitationIn,
        responses={201: InvitationCreatedOut, **errors(400, 401, 403, 409)},
        summary="Invite someone by email (the answer carries the sign-up link, shown once)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = InvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        base_url = request.build_absolute_uri("/")
        issued = services.invitation_create(
            actor=request.user, email=data.validated_data["email"], role=data.validated_data["role"], base_url=base_url
        )
        body = InvitationOut(issued.invitation).data
        body["url"] = services.invitation_url(base_url, issued.token)
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationDetailView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(responses={204: None, **errors(401, 403, 404, 409)}, summary="Withdraw an invitation")
    def delete(self, request: AuthenticatedRequest, invitation_id: int) -> Response:
        invitation = access_invitation(request.user, invitation_id)
        services.invitation_revoke(actor=request.user, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonDetailView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=MemberRoleIn,
        responses={200: MemberAccountOut, **errors(400, 401, 403, 404, 409)},
        summary="Make or unmake a company admin",
    )
    def patch(self, request: AuthenticatedRequest, user_id: int) -> Response:
        person = access_person(request.user, user_id)
        data = MemberRoleIn(data=request.data)
        data.is_valid(raise_exception=True)
        person = services.user_set_company_admin(
            actor=request.user, person=person, is_company_admin=data.validated_data["is_company_admin"]
        )
        return Response(MemberAccountOut(person).data)


class PersonDeactivateView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=None,
        responses={200: MemberAccountOut, **errors(401, 403, 404, 409)},
        summary="Deactivate: end the person's sessions and tokens and close their sockets (4401) at once",
    )
    def post(self, request: AuthenticatedRequest, user_id: int) -> Response:
        person = services.user_deactivate(actor=request.user, person=access_person(request.user, user_id))
        return Response(MemberAccountOut(person).data)


class PersonActivateView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(request=None, responses={200: MemberAccountOut, **errors(401, 403, 404)}, summary="Reactivate")
    def post(self, request: AuthenticatedRequest, user_id: int) -> Response:
        person = services.user_activate(actor=request.user, person=access_person(request.user, user_id))
        return Response(MemberAccountOut(person).data)


def _filters(values: dict) -> selectors.AuditFilter:
    return selectors.AuditFilter(
        actor=values.get("actor"),
        action=values.get("action", ""),
        since=values.get("since"),
        until=values.get("until"),
    )


class AuditListView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        parameters=[AuditQueryIn],
        responses={200: AuditOut(many=True), **errors(400, 401, 403)},
        summary="The audit log, newest first (next page: ?before=<last id>)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        values = validated(AuditQueryIn, request.query_params)
        rows = selectors.audit_page(
            company_id=_company(request),
            filters=_filters(values),
            before=values.get("before"),
            limit=values["limit"],
        )
        return Response(AuditOut(rows, many=True).data)


class AuditExportView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        parameters=[AuditQueryIn],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **errors(400, 401, 403)},
        summary="The audit log as CSV (same filters; streamed, header row first)",
    )
    def get(self, request: AuthenticatedRequest) -> StreamingHttpResponse:
        values = validated(AuditQueryIn, request.query_params)
        rows = selectors.audit_iter(company_id=_company(request), filters=_filters(values))
        response = StreamingHttpResponse(audit_csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        response["Cache-Control"] = "no-store"
        return response
