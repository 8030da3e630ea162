"""REST views for notifications, and `me/` with the unread count: validate, call a service or
selector, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.serializers import (
    MeWithInboxOut,
    NotificationListQuery,
    NotificationOut,
    NotificationReadIn,
    NotificationReadOut,
)
from presence.api.views import MeView as PresenceMeView
from virtual_office.api import errors
from virtual_office.inputs import validated
from virtual_office.tenancy import AuthenticatedRequest


class NotificationListView(APIView):
    @extend_schema(
        parameters=[NotificationListQuery],
        responses={200: NotificationOut(many=True), **errors(400, 401)},
        summary="My notifications, newest first (`unread=1`: only unread ones)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = validated(NotificationListQuery, request.query_params)
        rows = selectors.notification_list(user=request.user, **query)
        return Response(NotificationOut(rows, many=True).data)


class NotificationReadView(APIView):
    @extend_schema(
        request=NotificationReadIn,
        responses={200: NotificationReadOut, **errors(400, 401)},
        summary="Mark notifications read: `{ids}`, `{all: true}` or `{conversation}`",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = NotificationReadIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        marked = services.notifications_mark_read(
            actor=request.user,
            ids=values.get("ids"),
            everything=bool(values.get("all")),
            conversation_id=values.get("conversation"),
        )
        unread = selectors.unread_count(user=request.user)
        return Response(NotificationReadOut({"marked": marked, "notifications_unread": unread}).data)


class MeView(PresenceMeView):
    """`me/` as presence answers it, plus `notifications_unread`. Routed before presence's own `me/`
    (virtual_office/urls.py), so presence, a lower layer, needs to know nothing of notifications."""

    @extend_schema(responses={200: MeWithInboxOut, **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        response = super().get(request)
        response.data["notifications_unread"] = selectors.unread_count(user=request.user)
        return response
