"""`GET search/`: validate the query string, check what it names, run the search, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.permissions import access_conversation
from search import selectors
from search.api.serializers import SearchOut, SearchQuery
from virtual_office.api import errors
from virtual_office.errors import NotFound
from virtual_office.inputs import validated
from virtual_office.models import User
from virtual_office.tenancy import AuthenticatedRequest, of_company


class SearchView(APIView):
    @extend_schema(
        parameters=[SearchQuery],
        responses={200: SearchOut, **errors(400, 401, 404)},
        description="Messages (full text), people, spaces and conversations matching `q`, among what you may read.",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = validated(SearchQuery, request.query_params)
        user = request.user
        conversation = None
        if "conversation" in query:
            conversation = access_conversation(user, query["conversation"])
        sender = None
        if "sender" in query:
            # Anyone of the company, also someone who has left it since (their messages stay).
            sender = of_company(User.objects.all(), user).filter(pk=query["sender"]).first()
            if sender is None:
                raise NotFound("No such person.")
        results = selectors.search(
            user=user,
            q=query["q"],
            conversation=conversation,
            sender=sender,
            before=query.get("before"),
            after=query.get("after"),
            limit=query["limit"],
        )
        return Response(SearchOut(results, context={"user": user}).data)
