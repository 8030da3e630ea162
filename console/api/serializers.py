"""Input and output shapes of the company console's REST endpoints (invitations, people, audit)."""

from __future__ import annotations

from rest_framework import serializers

from console.models import AuditEvent, Invitation
from virtual_office.inputs import IdField, TextField
from virtual_office.models import User


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Invitation.Role.choices, default=Invitation.Role.MEMBER, required=False)


class InvitationOut(serializers.ModelSerializer):
    status = serializers.CharField(help_text="`pending`, `accepted`, `expired` or `revoked`.")
    invited_by = serializers.IntegerField(source="invited_by_id", allow_null=True)
    accepted_by = serializers.IntegerField(source="accepted_by_id", allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_by",
        ]


class InvitationCreatedOut(InvitationOut):
    """The one answer that carries the link: only its hash is kept."""

    url = serializers.CharField(help_text="The sign-up link under /accounts/invite/ (works once, until expires_at).")

    class Meta(InvitationOut.Meta):
        fields = [
            "id",
            "email",
            "url",
            "expires_at",
            "role",
            "status",
            "invited_by",
            "created_at",
            "accepted_at",
            "accepted_by",
        ]


class MemberAccountOut(serializers.ModelSerializer):
    name = serializers.CharField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "is_active", "is_company_admin", "last_login", "date_joined"]


class MemberRoleIn(serializers.Serializer):
    is_company_admin = serializers.BooleanField()


class AuditQueryIn(serializers.Serializer):
    actor = IdField(required=False, help_text="Only this person's actions.")
    action = TextField(required=False, max_length=64, help_text="An action, or a family: `user.` or `user.*`.")
    since = serializers.DateTimeField(required=False, help_text="From this moment (ISO datetime), inclusive.")
    until = serializers.DateTimeField(required=False, help_text="Before this moment (ISO datetime).")
    before = IdField(required=False, help_text="The next page: rows older than the row with this id.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class AuditOut(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="created_at")
    actor = serializers.IntegerField(source="actor_id", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_name", "action", "target_type", "target_id", "detail", "ip"]
