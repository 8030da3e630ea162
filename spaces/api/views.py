"""REST views for spaces: validate, call a service or selector, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import services as messaging_services
from messaging.api.serializers import ConversationOut
from messaging.permissions import access_conversation
from messaging.selectors import conversation_detail
from presence.api.serializers import PresenceOut
from presence.selectors import presence_get, user_list
from spaces import selectors, services
from spaces.api.serializers import KnockIn, KnockOut, MeetingIn, MeetingOut, RemoveIn, SpaceIn, SpaceOut
from spaces.models import Space
from spaces.permissions import IsCompanyAdminOrReadOnly, access_knock, access_space, can_read_room
from virtual_office.api import errors
from virtual_office.errors import Conflict, Forbidden, NotFound
from virtual_office.tenancy import AuthenticatedRequest

ERRORS = errors(400, 401, 403, 404, 409)


class SpaceListView(APIView):
    permission_classes = [IsCompanyAdminOrReadOnly]

    @extend_schema(responses={200: SpaceOut(many=True), **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(SpaceOut(selectors.space_list(user=request.user), many=True).data)

    @extend_schema(request=SpaceIn, responses={201: SpaceOut, **ERRORS})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = SpaceIn(data=request.data)
        data.is_valid(raise_exception=True)
        space = services.space_create(actor=request.user, data=data.validated_data)
        return Response(SpaceOut(selectors.space_get(space_id=space.id)).data, status=status.HTTP_201_CREATED)


class SpaceDetailView(APIView):
    # Writes are checked by access_space(manage=True) after the lookup, so another company's space
    # is a 404 for everyone (a permission class would answer 403 first and confirm it exists).

    @extend_schema(responses={200: SpaceOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        return Response(SpaceOut(selectors.space_get(space_id=space.id)).data)

    @extend_schema(request=SpaceIn, responses={200: SpaceOut, **ERRORS})
    def patch(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id, manage=True)
        data = SpaceIn(space, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.space_update(actor=request.user, space=space, data=data.validated_data)
        return Response(SpaceOut(selectors.space_get(space_id=space.id)).data)

    @extend_schema(responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id, manage=True)
        services.space_delete(actor=request.user, space=space)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpaceEnterView(APIView):
    @extend_schema(request=None, responses={200: PresenceOut, **errors(401, 404, 409)})
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        presence = services.space_enter(actor=request.user, space=space)
        return Response(PresenceOut(presence).data)


class SpaceLeaveView(APIView):
    @extend_schema(request=None, responses={200: PresenceOut, **errors(401, 404, 409)})
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        if presence_get(user=request.user).current_space_id != space.id:
            raise Conflict("not_in_space", f"You are not in {space.name}.")
        presence = services.space_leave(actor=request.user, reason="left")
        return Response(PresenceOut(presence).data)


class SpaceRemoveView(APIView):
    """A company admin takes someone out of a space (the room notes "... was removed by ...")."""

    @extend_schema(request=RemoveIn, responses={200: PresenceOut, **ERRORS})
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        data = RemoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        person = user_list(user=request.user).filter(pk=data.validated_data["user"]).first()
        if person is None:
            raise NotFound("No such person.")
        presence = services.space_remove(actor=request.user, space=space, user=person)
        return Response(PresenceOut(presence).data)


class SpaceConversationView(APIView):
    @extend_schema(responses={200: ConversationOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        if not can_read_room(request.user, space):
            raise NotFound("No such space.")
        conversation, _ = messaging_services.room_conversation_get_or_create(space=space)
        conversation = access_conversation(request.user, conversation.id)
        row = conversation_detail(user=request.user, conversation=conversation)
        return Response(ConversationOut(row, context={"user": request.user}).data)


class SpaceMeetingView(APIView):
    @extend_schema(request=MeetingIn, responses={201: MeetingOut, **ERRORS})
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        data = MeetingIn(data=request.data)
        data.is_valid(raise_exception=True)
        _check_may_run_meeting(request, space)
        meeting = services.meeting_start(actor=request.user, space=space, title=data.validated_data["title"])
        return Response(MeetingOut(meeting).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: MeetingOut, **errors(401, 403, 404, 409)})
    def delete(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        _check_may_run_meeting(request, space)
        meeting = services.meeting_end(actor=request.user, space=space)
        return Response(MeetingOut(meeting).data)


class SpaceKnockView(APIView):
    @extend_schema(
        request=KnockIn,
        responses={201: KnockOut, **ERRORS},
        summary="Knock on a space I may not simply enter (private to me, full, holding a meeting)",
        description=(
            "The people inside get `space.knock` (under dnd: a `knock` notification only) and answer with "
            "`knocks/{id}/admit/` or `deny/`; unanswered, it expires after `KNOCK_SECONDS`. 409 `space_empty` "
            "when nobody is inside, `knock_not_needed` when I could walk in, `already_knocking` while my "
            "previous knock there waits."
        ),
    )
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        space = access_space(request.user, space_id)
        data = KnockIn(data=request.data)
        data.is_valid(raise_exception=True)
        knock = services.knock_create(actor=request.user, space=space, note=data.validated_data.get("note", ""))
        return Response(KnockOut(knock).data, status=status.HTTP_201_CREATED)


class KnockAdmitView(APIView):
    @extend_schema(
        request=None, responses={200: KnockOut, **ERRORS}, summary="Let the knocker in (someone inside the space)"
    )
    def post(self, request: AuthenticatedRequest, knock_id: int) -> Response:
        knock = access_knock(request.user, knock_id)
        return Response(KnockOut(services.knock_admit(actor=request.user, knock=knock)).data)


class KnockDenyView(APIView):
    @extend_schema(request=None, responses={200: KnockOut, **ERRORS}, summary="Turn a knock down (someone inside)")
    def post(self, request: AuthenticatedRequest, knock_id: int) -> Response:
        knock = access_knock(request.user, knock_id)
        return Response(KnockOut(services.knock_deny(actor=request.user, knock=knock)).data)


def _check_may_run_meeting(request: AuthenticatedRequest, space: Space) -> None:
    if request.user.is_company_admin:
        return
    if presence_get(user=request.user).current_space_id != space.id:
        raise Forbidden("Enter the space to start or end its meeting.", code="not_in_space")
