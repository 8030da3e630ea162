"""Input and output shapes for spaces and meetings."""

from rest_framework import serializers

from spaces.models import Meeting, Space
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
