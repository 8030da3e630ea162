"""The console's server-rendered forms. They check the shape of what a person typed; the rules
(who may, what conflicts) stay in `console.services` and `spaces.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from console.models import Invitation
from presence.status import known_timezone
from spaces.models import Space
from virtual_office.models import User

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    role = forms.ChoiceField(choices=Invitation.Role.choices, initial=Invitation.Role.MEMBER)


class SpaceForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=Space.Kind.choices, initial=Space.Kind.OFFICE)
    capacity = forms.IntegerField(min_value=1, max_value=500, initial=8)
    is_private = forms.BooleanField(required=False, label="Private")


class CompanySettingsForm(forms.Form):
    name = forms.CharField(max_length=120, label="Company name")
    logo = forms.FileField(required=False, help_text="PNG, JPEG, GIF or WebP, at most 512 KB.")
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    idle_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=24 * 60,
        label="Away after (minutes idle)",
        help_text="Empty: the server's default.",
    )
    quiet_enabled = forms.BooleanField(required=False, label="New people get quiet hours")
    quiet_timezone = forms.CharField(required=False, max_length=64, label="Time zone", initial="UTC")
    quiet_days = forms.TypedMultipleChoiceField(
        required=False, choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, label="Days"
    )
    quiet_start = forms.TimeField(required=False, label="From", widget=forms.TimeInput(attrs={"type": "time"}))
    quiet_end = forms.TimeField(required=False, label="Until", widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("quiet_enabled"):
            zone = (data.get("quiet_timezone") or "").strip() or "UTC"
            if not known_timezone(zone):
                self.add_error("quiet_timezone", f"{zone!r} is not a known time zone (e.g. Europe/Berlin).")
            data["quiet_timezone"] = zone
            if not data.get("quiet_days"):
                self.add_error("quiet_days", "Pick at least one day.")
            start, end = data.get("quiet_start"), data.get("quiet_end")
            if start is None or end is None:
                self.add_error("quiet_start", "Quiet hours need a start and an end.")
            elif start == end:
                self.add_error("quiet_end", "The end must differ from the start.")
        return data


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone", label="Person")
    action = forms.ChoiceField(required=False, label="Action")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, company_id: int, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = User.objects.filter(company_id=company_id).order_by("display_name", "username")
        self.fields["actor"].queryset = people  # type: ignore[attr-defined]
        self.fields["action"].choices = [("", "Any action"), *[(a, a) for a in actions]]  # type: ignore[attr-defined]


class SignUpForm(forms.Form):
    display_name = forms.CharField(max_length=120, label="Your name")
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords differ.")
        return data
