"""Input and output of `GET search/`: the query string, and the four lists each shaped as its own
endpoint shapes it (messages as the messages endpoints, people as `users/`, spaces as `spaces/`,
conversations as `conversations/`)."""

from __future__ import annotations

from rest_framework import serializers

from messaging.api.serializers import ConversationOut, MessageOut
from presence.api.serializers import UserOut
from search.selectors import DEFAULT_LIMIT, MAX_LIMIT
from spaces.api.serializers import SpaceOut
from virtual_office.inputs import IdField, TextField

MAX_QUERY_LENGTH = 256


class SearchQuery(serializers.Serializer):
    """`GET search/?q=TEXT&conversation=&sender=&before=&after=&limit=`."""

    q = TextField(
        max_length=MAX_QUERY_LENGTH,
        help_text='Words (all of them), "a phrase", -word (not it), a or b (either side).',
    )
    conversation = IdField(required=False, help_text="Only messages of this conversation (one you may read).")
    sender = IdField(required=False, help_text="Only messages from this person of your company.")
    before = serializers.DateTimeField(required=False, help_text="Only messages sent before (ISO 8601).")
    after = serializers.DateTimeField(required=False, help_text="Only messages sent after (ISO 8601).")
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        default=DEFAULT_LIMIT,
        help_text=f"At most this many of each kind, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    )


class MessageHitOut(serializers.Serializer):
    message = MessageOut(read_only=True)
    conversation = serializers.IntegerField(
        source="message.conversation_id", help_text="The message's conversation (its id)."
    )
    snippet = serializers.CharField(
        help_text="HTML: a piece of the message's text, the matches inside <mark>, every other character escaped."
    )


class SearchOut(serializers.Serializer):
    messages = MessageHitOut(many=True, help_text="Most relevant first, then newest.")
    people = UserOut(many=True, help_text="People of your company whose name or username contains the text.")
    spaces = SpaceOut(many=True, help_text="Spaces of your company whose name contains the text.")
    conversations = ConversationOut(
        many=True, help_text="Your conversations whose title contains the text (untitled: with a person found)."
    )
