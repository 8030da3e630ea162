"""Input and output shapes for spaces and meetings."""

from rest_framework import serializers

from spaces.models import Meeting, Space


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

    def get_occupants(self, obj: Space) -> list[int]:
        occupants = getattr(obj, "occupant_ids", None)
        if occupants is None:
            occupants = sorted(obj.presences.values_list("user_id", flat=True))
        return occupants

    def get_meeting(self, obj: Space) -> dict | None:
        if hasattr(obj, "open_meetings"):
            meeting = obj.open_meetings[0] if obj.open_meetings else None
        else:
            meeting = obj.meetings.filter(ended_at__isnull=True).first()
        return MeetingOut(meeting).data if meeting is not None else None

    def get_conversation(self, obj: Space) -> int | None:
        if hasattr(obj, "room_conversation_id"):
            return obj.room_conversation_id
        conversation = getattr(obj, "conversation", None) if hasattr(obj, "conversation") else None
        return conversation.id if conversation is not None else None


class SpaceIn(serializers.ModelSerializer):
    class Meta:
        model = Space
        fields = ["name", "kind", "capacity", "status", "is_private", "x", "y", "w", "h"]
        extra_kwargs = {"capacity": {"min_value": 1, "max_value": 500}}


class MeetingIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
