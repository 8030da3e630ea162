"""REST of talks: the LiveKit access token of a space's talk (only when LiveKit is configured)."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from presence.models import Presence
from spaces.permissions import access_space
from talk import sfu
from talk.api.serializers import TalkTokenOut
from virtual_office.api import errors
from virtual_office.errors import NotFound
from virtual_office.tenancy import AuthenticatedRequest


class TalkTokenView(APIView):
    @extend_schema(
        request=None,
        responses={200: TalkTokenOut, **errors(401, 404)},
        summary="A LiveKit token for the talk of the space I am in (404 without LiveKit, or when not inside)",
    )
    def post(self, request: AuthenticatedRequest, space_id: int) -> Response:
        if not sfu.livekit_configured():
            raise NotFound("This office has no LiveKit server; talks use a browser mesh.", code="sfu_not_configured")
        space = access_space(request.user, space_id)
        if not Presence.objects.filter(user=request.user, current_space=space).exists():
            raise NotFound(f"You are not in {space.name}.", code="not_in_space")
        return Response(TalkTokenOut(asdict(sfu.token_mint(user=request.user, space_id=space.id))).data)
