"""REST views for conversations, messages and reactions: validate, call a service or selector, serialize."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import permissions, selectors, services
from messaging.api.serializers import (
    ChangesOut,
    ChangesQuery,
    ConversationOut,
    ConversationPatchIn,
    DirectIn,
    GroupIn,
    MessageEditIn,
    MessageIn,
    MessageListQuery,
    MessageOut,
    MessageTextIn,
    ReactionIn,
    ReadIn,
    ThreadOut,
    message_data,
)
from messaging.models import Conversation
from virtual_office.api import errors
from virtual_office.errors import NotFound
from virtual_office.inputs import MAX_ID, validated
from virtual_office.tenancy import AuthenticatedRequest

ERRORS = errors(400, 401, 403, 404, 409)
SEQ = {"type": "integer", "minimum": 0, "maximum": MAX_ID}  # a seq or rev: 0 before the first message


def _conversation_out(request: AuthenticatedRequest, conversation: Conversation) -> dict:
    row = selectors.conversation_detail(user=request.user, conversation=conversation)
    return ConversationOut(row, context={"user": request.user}).data


class ConversationListView(APIView):
    @extend_schema(responses={200: ConversationOut(many=True), **errors(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        conversations = selectors.conversation_list(user=request.user)
        return Response(ConversationOut(conversations, many=True, context={"user": request.user}).data)

    @extend_schema(request=GroupIn, responses={201: ConversationOut, **ERRORS})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = GroupIn(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.group_create(
            actor=request.user,
            title=data.validated_data.get("title", ""),
            participant_ids=data.validated_data["participants"],
        )
        conversation = permissions.access_conversation(request.user, conversation.id)
        return Response(_conversation_out(request, conversation), status=status.HTTP_201_CREATED)


class DirectConversationView(APIView):
    @extend_schema(request=DirectIn, responses={200: ConversationOut, 201: ConversationOut, **ERRORS})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = DirectIn(data=request.data)
        data.is_valid(raise_exception=True)
        conversation, created = services.direct_get_or_create(actor=request.user, other_id=data.validated_data["user"])
        conversation = permissions.access_conversation(request.user, conversation.id)
        return Response(
            _conversation_out(request, conversation), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ConversationDetailView(APIView):
    @extend_schema(responses={200: ConversationOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id)
        return Response(_conversation_out(request, conversation))

    @extend_schema(request=ConversationPatchIn, responses={200: ConversationOut, **ERRORS})
    def patch(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id)
        data = ConversationPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_update(
            actor=request.user,
            conversation=conversation,
            title=data.validated_data.get("title"),
            participant_ids=data.validated_data.get("participants"),
            may_manage=permissions.can_manage(request.user, conversation),
        )
        conversation = permissions.access_conversation(request.user, conversation_id)
        return Response(_conversation_out(request, conversation))


class MessageListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "before", SEQ, description="only messages with seq < before (the page just before)"
            ),
            OpenApiParameter("after", SEQ, description="only messages with seq > after"),
            OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": selectors.MAX_PAGE, "default": 50},
                description=f"page size, 1..{selectors.MAX_PAGE} (default 50)",
            ),
        ],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id)
        query = validated(MessageListQuery, request.query_params)
        messages = selectors.message_list(conversation=conversation, **query)
        return Response(MessageOut(messages, many=True, context={"user": request.user}).data)

    @extend_schema(
        request={"application/json": MessageTextIn, "multipart/form-data": MessageIn},
        responses={201: MessageOut, 200: MessageOut, **ERRORS, **errors(413, 415)},
    )
    def post(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id, write=True)
        data = MessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        message, created = services.message_send(
            actor=request.user,
            conversation=conversation,
            body=data.validated_data.get("body", ""),
            client_id=data.validated_data.get("client_id"),
            reply_to=data.validated_data.get("reply_to"),
            files=request.FILES.getlist("attachments"),
        )
        message = selectors.message_queryset().get(pk=message.pk)
        return Response(
            message_data(message, request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ChangesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("since_rev", SEQ, description="return messages whose rev is greater")],
        responses={200: ChangesOut, **errors(400, 401, 404)},
    )
    def get(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id)
        rev = type(conversation).objects.values_list("rev", flat=True).get(pk=conversation.pk)
        query = validated(ChangesQuery, request.query_params)
        messages = selectors.message_changes(conversation=conversation, since_rev=query["since_rev"])
        has_more = bool(messages) and messages[-1].rev < rev
        return Response(
            {
                "rev": messages[-1].rev if has_more else rev,
                "has_more": has_more,
                "messages": MessageOut(messages, many=True, context={"user": request.user}).data,
            }
        )


class ReadView(APIView):
    @extend_schema(request=ReadIn, responses={200: ConversationOut, **ERRORS})
    def post(self, request: AuthenticatedRequest, conversation_id: int) -> Response:
        conversation = permissions.access_conversation(request.user, conversation_id)
        data = ReadIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_mark_read(actor=request.user, conversation=conversation, seq=data.validated_data["seq"])
        conversation = permissions.access_conversation(request.user, conversation_id)
        return Response(_conversation_out(request, conversation))


class MessageDetailView(APIView):
    @extend_schema(request=MessageEditIn, responses={200: MessageOut, **ERRORS})
    def patch(self, request: AuthenticatedRequest, message_id: int) -> Response:
        message = permissions.access_message(request.user, message_id)
        permissions.check_can_edit(request.user, message)
        data = MessageEditIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.message_edit(actor=request.user, message=message, body=data.validated_data["body"])
        message = selectors.message_queryset().get(pk=message.pk)
        return Response(message_data(message, request.user))

    @extend_schema(responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: AuthenticatedRequest, message_id: int) -> Response:
        message = permissions.access_message(request.user, message_id, moderate=True)
        permissions.check_can_delete(request.user, message)
        services.message_delete(actor=request.user, message=message)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageThreadView(APIView):
    @extend_schema(responses={200: ThreadOut, **errors(401, 404)})
    def get(self, request: AuthenticatedRequest, message_id: int) -> Response:
        """The thread the message is in: its root and replies (a reply's id gives its root's thread)."""
        message = permissions.access_message(request.user, message_id)
        root, replies = selectors.message_thread(message=message)
        context = {"user": request.user}
        return Response(
            {
                "root": MessageOut(root, context=context).data,
                "replies": MessageOut(replies, many=True, context=context).data,
            }
        )


class ReactionListView(APIView):
    @extend_schema(request=ReactionIn, responses={200: MessageOut, **ERRORS})
    def post(self, request: AuthenticatedRequest, message_id: int) -> Response:
        message = permissions.access_message(request.user, message_id)
        data = ReactionIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.reaction_add(actor=request.user, message=message, emoji=data.validated_data["emoji"])
        message = selectors.message_queryset().get(pk=message.pk)
        return Response(message_data(message, request.user))


class ReactionDetailView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("emoji", {"type": "string", "minLength": 1, "maxLength": 32}, OpenApiParameter.PATH)
        ],
        responses={200: MessageOut, **ERRORS},
    )
    def delete(self, request: AuthenticatedRequest, message_id: int, emoji: str) -> Response:
        message = permissions.access_message(request.user, message_id)
        emoji = validated(ReactionIn, {"emoji": emoji})["emoji"]
        services.reaction_remove(actor=request.user, message=message, emoji=emoji)
        message = selectors.message_queryset().get(pk=message.pk)
        return Response(message_data(message, request.user))


# Types a browser may show in the page; everything else downloads.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


class AnyAccept(BaseContentNegotiation):
    """A file download answers whatever `Accept` says (an <img> asks for image/*); errors stay JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AttachmentDownloadView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file with its stored type: images inline, the rest as a download."
            ),
            **errors(401, 404),
        }
    )
    def get(self, request: AuthenticatedRequest, attachment_id: int) -> FileResponse:
        attachment = permissions.access_attachment(request.user, attachment_id)
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise NotFound("The attachment's file is gone.") from None
        response = FileResponse(
            handle,
            content_type=attachment.content_type,
            as_attachment=attachment.content_type not in INLINE_TYPES,
            filename=attachment.name,
        )
        # User content from our own origin: never sniffed into something else, never scripted.
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response
