"""REST views for me, people and my presence."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from presence import selectors, services
from presence.api.serializers import MeOut, PresenceIn, PresenceOut, UserOut
from virtual_office.api import errors
from virtual_office.tenancy import AuthenticatedRequest


class MeView(APIView):
    @extend_schema(responses={200: MeOut, **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MeOut(selectors.me_get(user=request.user)).data)


class UserListView(APIView):
    @extend_schema(responses={200: UserOut(many=True), **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(UserOut(selectors.user_list(user=request.user), many=True).data)


class PresenceView(APIView):
    @extend_schema(request=PresenceIn, responses={200: PresenceOut, **errors(400, 401)})
    def put(self, request: AuthenticatedRequest) -> Response:
        data = PresenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        presence = services.presence_set_status(actor=request.user, status=data.validated_data["status"])
        return Response(PresenceOut(presence).data)
