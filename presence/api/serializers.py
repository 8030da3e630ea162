"""Shapes of people and their presence."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from presence.models import Presence
from virtual_office.models import Company, User

# What others see: the chosen status while a socket is open, else offline (Presence.effective_status).
EFFECTIVE_STATUSES = [*Presence.Status.choices, (Presence.OFFLINE, "Offline")]


class PresenceOut(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    status = serializers.ChoiceField(choices=EFFECTIVE_STATUSES, source="effective_status")
    chosen_status = serializers.ChoiceField(choices=Presence.Status.choices, source="status")

    class Meta:
        model = Presence
        fields = ["user", "status", "chosen_status", "current_space", "last_seen"]


class CompanyOut(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "slug", "name"]


def _presence(user: User) -> Presence | None:
    try:
        return user.presence
    except Presence.DoesNotExist:
        return None


class UserOut(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    initials = serializers.CharField(read_only=True)
    colour = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    current_space = serializers.SerializerMethodField()
    last_seen = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "username", "name", "display_name", "title", "initials", "colour", "is_company_admin", "status",
            "current_space", "last_seen",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=EFFECTIVE_STATUSES))
    def get_status(self, obj: User) -> str:
        presence = _presence(obj)
        return presence.effective_status if presence else Presence.OFFLINE

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_current_space(self, obj: User) -> int | None:
        presence = _presence(obj)
        return presence.current_space_id if presence else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_seen(self, obj: User) -> str | None:
        presence = _presence(obj)
        return presence.last_seen.isoformat() if presence and presence.last_seen else None


class MeOut(UserOut):
    company = CompanyOut(read_only=True)
    presence = serializers.SerializerMethodField()

    class Meta(UserOut.Meta):
        fields = [*UserOut.Meta.fields, "company", "presence"]

    @extend_schema_field(PresenceOut)
    def get_presence(self, obj: User) -> dict | None:
        presence = _presence(obj)
        return PresenceOut(presence).data if presence else None


class PresenceIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Presence.Status.choices, help_text="`offline` is not set by hand: it follows from having no socket."
    )
