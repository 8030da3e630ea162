"""REST views for me, people and my presence."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from presence import selectors, services
from presence.api.serializers import MeOut, PresenceIn, PresenceOut, QuietHoursIn, QuietHoursOut, UserOut, user_rows
from virtual_office.api import errors
from virtual_office.inputs import validated
from virtual_office.tenancy import AuthenticatedRequest


class MeView(APIView):
    @extend_schema(responses={200: MeOut, **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MeOut(selectors.me_get(user=request.user)).data)


class UserListView(APIView):
    @extend_schema(responses={200: UserOut(many=True), **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(user_rows(selectors.user_list(user=request.user)))


class PresenceView(APIView):
    @extend_schema(
        request=PresenceIn,
        responses={200: PresenceOut, **errors(400, 401)},
        summary="Set my status, status text, emoji and their expiry",
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        data = PresenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        presence = services.presence_set_status(actor=request.user, **data.validated_data)
        return Response(PresenceOut(presence).data)


class QuietHoursView(APIView):
    @extend_schema(responses={200: QuietHoursOut, **errors(401)}, summary="My quiet hours")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(QuietHoursOut().to_representation(selectors.quiet_hours_get(user=request.user)))

    @extend_schema(
        request=QuietHoursIn,
        responses={200: QuietHoursOut, **errors(400, 401)},
        summary="Set my quiet hours (dnd, reason schedule, inside them); days: [] removes them",
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        # One {detail, code} error naming the first bad field: the codes are what clients branch on.
        body = request.data if isinstance(request.data, dict) else {}
        values = validated(QuietHoursIn, body)
        schedule = services.quiet_hours_set(
            actor=request.user,
            timezone_name=values["timezone"],
            days=values["days"],
            start=values["start"],
            end=values["end"],
        )
        return Response(QuietHoursOut().to_representation(schedule))

    @extend_schema(responses={204: None, **errors(401)}, summary="Remove my quiet hours")
    def delete(self, request: AuthenticatedRequest) -> Response:
        services.quiet_hours_delete(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
