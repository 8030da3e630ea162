"""REST views for calls and teleports: validate, call a service or selector, serialize."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from calling import selectors, services
from calling.api.serializers import CallIn, CallListQuery, CallOut, TeleportIn, TeleportOut
from calling.permissions import access_call, access_teleport
from virtual_office.api import errors
from virtual_office.tenancy import AuthenticatedRequest

ERRORS = errors(400, 401, 403, 404, 409)


class CallListView(APIView):
    @extend_schema(
        parameters=[CallListQuery],
        responses={200: CallOut(many=True), **errors(400, 401)},
        summary="My call history (made and received), newest first",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = CallListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        calls = selectors.call_list(user=request.user, **query.validated_data)
        return Response(CallOut(calls, many=True).data)

    @extend_schema(request=CallIn, responses={201: CallOut, **ERRORS}, summary="Ring someone (30 s, then missed)")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = CallIn(data=request.data)
        data.is_valid(raise_exception=True)
        call = services.call_create(
            actor=request.user, callee_id=data.validated_data["callee"], kind=data.validated_data["kind"]
        )
        return Response(CallOut(call).data, status=status.HTTP_201_CREATED)


class CallDetailView(APIView):
    @extend_schema(responses={200: CallOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, call_id: int) -> Response:
        return Response(CallOut(access_call(request.user, call_id)).data)


def _call_action(request: AuthenticatedRequest, call_id: int, service: Callable) -> Response:
    """POST calls/{id}/<action>/: the call must be mine (else 404); the service decides the rest."""
    call = access_call(request.user, call_id)
    return Response(CallOut(service(actor=request.user, call=call)).data)


class CallAcceptView(APIView):
    @extend_schema(request=None, responses={200: CallOut, **ERRORS}, summary="Answer a ringing call (callee)")
    def post(self, request: AuthenticatedRequest, call_id: int) -> Response:
        return _call_action(request, call_id, services.call_accept)


class CallDeclineView(APIView):
    @extend_schema(request=None, responses={200: CallOut, **ERRORS}, summary="Decline a ringing call (callee)")
    def post(self, request: AuthenticatedRequest, call_id: int) -> Response:
        return _call_action(request, call_id, services.call_decline)


class CallCancelView(APIView):
    @extend_schema(request=None, responses={200: CallOut, **ERRORS}, summary="Stop ringing (caller)")
    def post(self, request: AuthenticatedRequest, call_id: int) -> Response:
        return _call_action(request, call_id, services.call_cancel)


class CallEndView(APIView):
    @extend_schema(request=None, responses={200: CallOut, **ERRORS}, summary="Hang up an answered call (either party)")
    def post(self, request: AuthenticatedRequest, call_id: int) -> Response:
        return _call_action(request, call_id, services.call_end)


class TeleportListView(APIView):
    @extend_schema(responses={200: TeleportOut(many=True), **errors(401)}, summary="Invitations I sent or received")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(TeleportOut(selectors.teleport_list(user=request.user), many=True).data)

    @extend_schema(
        request=TeleportIn, responses={201: TeleportOut, **ERRORS}, summary="Invite someone into a space (60 s)"
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = TeleportIn(data=request.data)
        data.is_valid(raise_exception=True)
        teleport = services.teleport_create(
            actor=request.user,
            invitee_id=data.validated_data["invitee"],
            space_id=data.validated_data.get("space"),
        )
        return Response(TeleportOut(teleport).data, status=status.HTTP_201_CREATED)


class TeleportDetailView(APIView):
    @extend_schema(responses={200: TeleportOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, teleport_id: int) -> Response:
        return Response(TeleportOut(access_teleport(request.user, teleport_id)).data)


class TeleportAcceptView(APIView):
    @extend_schema(request=None, responses={200: TeleportOut, **ERRORS}, summary="Accept: moves me into the space")
    def post(self, request: AuthenticatedRequest, teleport_id: int) -> Response:
        teleport = access_teleport(request.user, teleport_id)
        return Response(TeleportOut(services.teleport_accept(actor=request.user, teleport=teleport)).data)


class TeleportDeclineView(APIView):
    @extend_schema(request=None, responses={200: TeleportOut, **ERRORS}, summary="Decline an invitation")
    def post(self, request: AuthenticatedRequest, teleport_id: int) -> Response:
        teleport = access_teleport(request.user, teleport_id)
        return Response(TeleportOut(services.teleport_decline(actor=request.user, teleport=teleport)).data)
