"""Input and output shapes for spaces and meetings."""

from rest_framework import serializers

from spaces.models import Knock, Meeting, Space
from spaces.selectors import LoadedSpace, occupant_ids
from virtual_office.inputs import IdField, TextField


class MeetingOut(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = ["id", "title", "started_by", "started_at", "ended_at", "duration_seconds"]


class SpaceOut(serializers.ModelSerializer):
    occupants = serializers.SerializerMethodField()
    meeting = serializers.SerializerMethodField()
    conversation = serializers.SerializerMethodField()

    class Meta:
        model = Space
        fields = [
            "id", "name", "kind", "capacity", "status", "is_private", "x", "y", "w", "h", "occupants", "meeting",
            "conversation",
        ]

    # occupants, open_meetings and room_conversation_id are loaded once by spaces.selectors
    # (space_list / space_get), which every caller uses.
    def get_occupants(self, obj: LoadedSpace) -> list[int]:
        return occupant_ids(obj)

    def get_meeting(self, obj: LoadedSpace) -> dict | None:
        return MeetingOut(obj.open_meetings[0]).data if obj.open_meetings else None

    def get_conversation(self, obj: LoadedSpace) -> int | None:
        return obj.room_conversation_id


class SpaceIn(serializers.ModelSerializer):
    class Meta:
        model = Space
        fields = ["name", "kind", "capacity", "status", "is_private", "x", "y", "w", "h"]
        extra_kwargs = {"capacity": {"min_value": 1, "max_value": 500}}


class RemoveIn(serializers.Serializer):
    user = IdField(help_text="The person to take out of the space.")


class MeetingIn(serializers.Serializer):
    title = TextField(max_length=200)


class KnockIn(serializers.Serializer):
    note = TextField(max_length=200, required=False, allow_blank=True, help_text="A word for the people inside.")


class KnockOut(serializers.Serializer):
    """A knock, for REST and its socket events (`knock.admitted`, `knock.denied`, `knock.expired`)."""

    id = serializers.IntegerField()
    space = serializers.IntegerField(source="space_id")
    space_name = serializers.CharField(source="space.name")
    user = serializers.IntegerField(source="user_id", help_text="Who knocked.")
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=Knock.Status.choices, source="effective_status")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    answered_by = serializers.IntegerField(source="answered_by_id", allow_null=True)


class SpaceKnockOut(serializers.Serializer):
    """`space.knock`, to the people inside: who knocks on which space, and their note."""

    knock = serializers.IntegerField(source="id")
    space = serializers.IntegerField(source="space_id")
    space_name = serializers.CharField(source="space.name")
    user = serializers.IntegerField(source="user_id")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
