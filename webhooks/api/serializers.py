from __future__ import annotations

from rest_framework import serializers

from virtual_office.inputs import IdField
from webhooks.models import EVENTS, Attempt, Delivery, Webhook


class WebhookIn(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS), min_length=1, max_length=len(EVENTS))
    # Left out: one is made (shown in the answer). Receivers check the signature with it.
    secret = serializers.CharField(max_length=128, min_length=16, required=False, allow_blank=False)


class WebhookOut(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "secret", "created_at"]


class AttemptOut(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["at", "status_code", "error", "duration_ms"]


class DeliveryOut(serializers.ModelSerializer):
    log = AttemptOut(source="attempt_log", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "log"]


class DeliveryQueryIn(serializers.Serializer):
    before = IdField(required=False)
