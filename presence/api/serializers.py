"""Shapes of people and their presence."""

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from presence.models import Presence, QuietHours
from presence.status import known_timezone, parse_hhmm, quiet_window_end
from virtual_office.inputs import TextField
from virtual_office.models import Company, User

# What others see: offline without a live socket, else the manual or automatic status (presence.status).
EFFECTIVE_STATUSES = [*Presence.Status.choices, (Presence.OFFLINE, "Offline")]
STATUS_REASONS = [
    ("manual", "Set by hand"),
    ("in_call", "In a call"),
    ("in_meeting", "In a meeting"),
    ("idle", "Idle"),
    ("schedule", "Quiet hours"),
]
STATUS_FIELDS = ["status", "status_reason", "status_text", "status_emoji", "status_until"]


def _status(presence: Presence | None, now: datetime | None = None) -> dict:
    if presence is None:
        return {
            "status": Presence.OFFLINE,
            "status_reason": None,
            "status_text": "",
            "status_emoji": "",
            "status_until": None,
        }
    return presence.availability(now).as_dict()


class _StatusPart(serializers.Field):
    """One of the status fields, read from the whole presence (or user) through presence.status."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Presence | User) -> object:
        presence = value if isinstance(value, Presence) else _presence(value)
        return _status(presence)[self.field_name]


@extend_schema_field(serializers.ChoiceField(choices=EFFECTIVE_STATUSES))
class StatusField(_StatusPart):
    pass


@extend_schema_field(serializers.ChoiceField(choices=STATUS_REASONS, allow_null=True))
class StatusReasonField(_StatusPart):
    pass


@extend_schema_field(serializers.CharField(allow_blank=True))
class StatusTextField(_StatusPart):
    pass


@extend_schema_field(serializers.DateTimeField(allow_null=True))
class StatusUntilField(_StatusPart):
    pass


class PresenceOut(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    status = StatusField()
    status_reason = StatusReasonField(help_text="Why: null for plain online and offline.")
    status_text = StatusTextField()
    status_emoji = StatusTextField()
    status_until = StatusUntilField(help_text="When the shown status ends by itself, if known.")
    chosen_status = serializers.ChoiceField(
        choices=Presence.Status.choices, source="manual_status", help_text="The status set by hand (online: none)."
    )

    class Meta:
        model = Presence
        fields = ["user", *STATUS_FIELDS, "chosen_status", "current_space", "last_seen"]


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
    status = StatusField()
    status_reason = StatusReasonField(help_text="Why: null for plain online and offline.")
    status_text = StatusTextField()
    status_emoji = StatusTextField()
    status_until = StatusUntilField(help_text="When the shown status ends by itself, if known.")
    current_space = serializers.SerializerMethodField()
    last_seen = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "display_name",
            "title",
            "initials",
            "colour",
            "is_company_admin",
            *STATUS_FIELDS,
            "current_space",
            "last_seen",
        ]

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
    """`PUT presence/`: every field optional; what is not given stays as it is."""

    status = serializers.ChoiceField(
        choices=Presence.Status.choices,
        required=False,
        help_text="`away`, `busy`, `dnd`: a manual status (wins over every automatic one); `online` clears it. "
        "`offline` is not set by hand: it follows from having no socket.",
    )
    status_text = TextField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    status_emoji = TextField(max_length=32, required=False, allow_blank=True, trim_whitespace=True)
    status_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Ends the manual status and the text and emoji together."
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                {"status": "Give at least one of status, status_text, status_emoji, status_until."}
            )
        return attrs


class QuietHoursIn(serializers.Serializer):
    """`PUT presence/schedule/`: `days` are ISO weekdays minus one (0 = Monday ... 6 = Sunday)."""

    error_codes: ClassVar = {
        "timezone": "invalid_timezone",
        "days": "invalid_days",
        "start": "invalid_time",
        "end": "invalid_time",
        "frame": "invalid_window",
    }

    timezone = TextField(max_length=64, help_text="An IANA time zone, e.g. Europe/Berlin.")
    days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), max_length=7)
    start = TextField(help_text='"HH:MM", 24 h.')
    end = TextField(help_text='"HH:MM", 24 h; before `start`: the window crosses midnight.')

    def validate_timezone(self, value: str) -> str:
        if not known_timezone(value):
            raise serializers.ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")
        return value

    def validate_days(self, value: list) -> list[int]:
        if any(isinstance(day, bool) for day in self.initial_data.get("days", [])):
            raise serializers.ValidationError("days are whole numbers from 0 (Monday) to 6 (Sunday).")
        return sorted(set(value))

    def _time(self, value: str) -> time:
        parsed = parse_hhmm(value)
        if parsed is None:
            raise serializers.ValidationError(f"{value!r} is not a time as HH:MM (00:00 to 23:59).")
        return parsed

    def validate_start(self, value: str) -> time:
        return self._time(value)

    def validate_end(self, value: str) -> time:
        return self._time(value)

    def validate(self, attrs: dict) -> dict:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError("start and end must differ.")
        return attrs


class QuietHoursOut(serializers.Serializer):
    """My quiet hours; no schedule reads as `days: []`."""

    timezone = serializers.CharField(allow_null=True)
    days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    start = serializers.CharField(allow_null=True, help_text='"HH:MM"')
    end = serializers.CharField(allow_null=True, help_text='"HH:MM"')
    active = serializers.BooleanField(help_text="Inside the quiet hours now.")
    until = serializers.DateTimeField(allow_null=True, help_text="When the quiet hours in progress end.")

    def to_representation(self, instance: QuietHours | None) -> dict:
        until = quiet_window_end(instance, timezone.now())
        if instance is None:
            return {"timezone": None, "days": [], "start": None, "end": None, "active": False, "until": None}
        return {
            "timezone": instance.timezone,
            "days": list(instance.days),
            "start": instance.start.strftime("%H:%M"),
            "end": instance.end.strftime("%H:%M"),
            "active": until is not None,
            "until": until.isoformat() if until else None,
        }


def user_rows(users: Iterable[User]) -> list[dict]:
    """`UserOut(users, many=True).data`, built straight from the rows: the list of a whole company
    (thousands of people at a morning's logins) costs one status resolution per person instead of
    a serializer field call per value. tests/presence checks that the two never differ."""
    now = timezone.now()
    rows = []
    for user in users:
        presence = _presence(user)
        name = user.name
        row = {
            "id": user.id,
            "username": user.username,
            "name": name,
            "display_name": user.display_name,
            "title": user.title,
            "initials": user.initials,
            "colour": user.colour,
            "is_company_admin": user.is_company_admin,
            **_status(presence, now),
            "current_space": presence.current_space_id if presence else None,
            "last_seen": presence.last_seen.isoformat() if presence and presence.last_seen else None,
        }
        rows.append(row)
    return rows
