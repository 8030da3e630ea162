"""Input and output shapes of talks: the socket frames (`space.av.*`) and the LiveKit token."""

from typing import ClassVar

import orjson
from rest_framework import serializers

from virtual_office.inputs import IdField

# The rule of a call's `call.signal` (calling.api.serializers.SIGNAL_MAX_BYTES, which talk may not
# import: they are one layer): an SDP offer with audio, video and a screen is a few KB.
SIGNAL_MAX_BYTES = 16 * 1024


class TalkJoinFrame(serializers.Serializer):
    space = IdField(strict=True)
    audio = serializers.BooleanField(default=True)
    video = serializers.BooleanField(default=False)


class TalkUpdateFrame(serializers.Serializer):
    space = IdField(strict=True)
    audio = serializers.BooleanField()
    video = serializers.BooleanField()
    screen = serializers.BooleanField(default=False)


class TalkLeaveFrame(serializers.Serializer):
    space = IdField(strict=True)


class TalkSignalFrame(serializers.Serializer):
    """`space.av.signal`: an SDP description or ICE candidate for one other participant (the same
    size rule as a call's `call.signal`)."""

    error_codes: ClassVar = {"payload.too_large": "payload_too_large"}

    space = IdField(strict=True)
    to = IdField(strict=True)
    payload = serializers.DictField(allow_empty=False)

    def validate_payload(self, payload: dict) -> dict:
        if len(orjson.dumps(payload)) > SIGNAL_MAX_BYTES:
            raise serializers.ValidationError(
                f"Signaling payloads are limited to {SIGNAL_MAX_BYTES} bytes.", code="too_large"
            )
        return payload


class TalkParticipantOut(serializers.Serializer):
    user = serializers.IntegerField()
    audio = serializers.BooleanField()
    video = serializers.BooleanField()
    screen = serializers.BooleanField()


class TalkStateOut(serializers.Serializer):
    """Also the `data` of `space.av.updated`, and the ack of `space.av.join`, `update`, `leave`."""

    space = serializers.IntegerField()
    participants = TalkParticipantOut(many=True, help_text="First joiner first.")


class TalkTokenOut(serializers.Serializer):
    token = serializers.CharField(help_text="A LiveKit access token (identity `user-<id>`).")
    url = serializers.CharField(help_text="The LiveKit server (LIVEKIT_URL).")
    room = serializers.CharField(help_text="`space-<id>`.")
