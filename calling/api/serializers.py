"""Input and output shapes for calls and teleport invitations (REST and socket events share the output)."""

from typing import ClassVar

import orjson
from rest_framework import serializers

from calling import events
from calling.models import Call, Teleport
from virtual_office.inputs import IdField

# An SDP offer with audio + video is a few KB; ICE candidates are a few hundred bytes.
SIGNAL_MAX_BYTES = 16 * 1024


class CallIn(serializers.Serializer):
    callee = IdField(help_text="Id of a person of your company.")
    kind = serializers.ChoiceField(choices=Call.Kind.choices)


class TeleportIn(serializers.Serializer):
    invitee = IdField(help_text="Id of a person of your company.")
    space = IdField(
        required=False, allow_null=True, help_text="Space to invite them to; default: the space you are in."
    )


class SignalFrame(serializers.Serializer):
    """The socket's `call.signal`: an SDP description or ICE candidate for the other party."""

    error_codes: ClassVar = {"payload.too_large": "payload_too_large"}

    call = IdField(strict=True)
    payload = serializers.DictField(allow_empty=False)

    def validate_payload(self, payload: dict) -> dict:
        if len(orjson.dumps(payload)) > SIGNAL_MAX_BYTES:
            raise serializers.ValidationError(
                f"Signaling payloads are limited to {SIGNAL_MAX_BYTES} bytes.", code="too_large"
            )
        return payload


class PersonOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    initials = serializers.CharField()
    colour = serializers.CharField()


class SpaceRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CallOut(serializers.Serializer):
    """Also the `data` of every `call.*` socket event."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Call.Kind.choices)
    state = serializers.ChoiceField(
        choices=Call.State.choices, help_text="A ringing call past `expires_at` reads as missed."
    )
    caller = PersonOut()
    callee = PersonOut()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="When an unanswered call becomes missed.")
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_by = serializers.IntegerField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True, help_text="Answered to ended, for ended calls.")
    callee_status = serializers.ChoiceField(
        choices=["online", "away", "busy"],
        allow_null=True,
        help_text="The callee's status when it rang (dnd and offline callees are refused with 409).",
    )
    quiet = serializers.BooleanField(help_text="The callee was busy: their page rings without sound.")

    def to_representation(self, instance: Call) -> dict:
        return events.call_payload(instance)


class TeleportOut(serializers.Serializer):
    """Also the `data` of every `teleport.*` socket event."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=Teleport.State.choices, help_text="A pending invitation past `expires_at` reads as expired."
    )
    inviter = PersonOut()
    invitee = PersonOut()
    space = SpaceRefOut()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Teleport) -> dict:
        return events.teleport_payload(instance)


class CallListQuery(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50, help_text="Page size.")
    before = IdField(required=False, help_text="Only calls with a smaller id.")
