"""REST views of webhooks (company admins): register, list, remove, and read a webhook's deliveries."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from virtual_office.api import errors
from virtual_office.inputs import validated
from virtual_office.tenancy import AuthenticatedRequest
from webhooks import selectors, services
from webhooks.api.serializers import DeliveryOut, DeliveryQueryIn, WebhookIn, WebhookOut
from webhooks.permissions import access_webhook


class IsCompanyAdmin(BasePermission):
    message = "Only company admins can manage webhooks."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.company_id is not None and user.is_company_admin)


class WebhookListView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(responses={200: WebhookOut(many=True), **errors(401, 403)}, summary="My company's webhooks")
    def get(self, request: AuthenticatedRequest) -> Response:
        rows = selectors.webhook_list(company_id=request.user.company_id or 0)
        return Response(WebhookOut(rows, many=True).data)

    @extend_schema(
        request=WebhookIn,
        responses={201: WebhookOut, **errors(400, 401, 403)},
        summary="Register a webhook (a public http(s) URL, events, and the secret deliveries are signed with)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = services.webhook_create(
            actor=request.user,
            url=data.validated_data["url"],
            events=data.validated_data["events"],
            secret=data.validated_data.get("secret", ""),
        )
        return Response(WebhookOut(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(responses={204: None, **errors(401, 403, 404)}, summary="Remove a webhook")
    def delete(self, request: AuthenticatedRequest, webhook_id: int) -> Response:
        webhook = access_webhook(request.user, webhook_id)
        services.webhook_delete(actor=request.user, webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="Older than this delivery id (the next page)")],
        responses={200: DeliveryOut(many=True), **errors(400, 401, 403, 404)},
        summary="A webhook's deliveries, newest first, each with its attempts",
    )
    def get(self, request: AuthenticatedRequest, webhook_id: int) -> Response:
        webhook = access_webhook(request.user, webhook_id)
        query = validated(DeliveryQueryIn, request.query_params)
        rows = selectors.delivery_list(webhook=webhook, before=query.get("before"))
        return Response(DeliveryOut(rows, many=True).data)
