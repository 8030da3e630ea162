"""Input at the edges. Each operation has one serializer that says what it takes; a REST view and a
socket action validate with the same one, once, and the service gets typed values (`str`, `int`,
`list[int]`), never a raw body or frame.

REST answers an invalid body with DRF's field errors (400 `{field: [messages]}`). A socket frame
or a query string gets one error (an `error` frame, a 400 `{detail, code}`) whose code names the
field (`invalid_<field>`), or a more precise code the serializer maps in `error_codes`
(`{"body.max_length": "body_too_long"}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from virtual_office.errors import ServiceError

MAX_ID = 2**63 - 1  # bigint primary keys: a larger number is no id (and must not reach the database)


class IdField(serializers.IntegerField):
    """The id of an object: a whole number from 1 to 2**63 - 1 (the schema says so too). A string of
    digits is taken too, unless `strict` (a JSON number only)."""

    def __init__(self, *, strict: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        self.strict = strict
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (self.strict and not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """Text, and only text: DRF's CharField would take the number 5 as "5" and `true` as "True"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _first_error(errors: Any, path: str = "") -> tuple[str, ErrorDetail]:
    """The first (field, error) of DRF's nested errors; a nested field is named `field.key`."""
    if isinstance(errors, Mapping):
        key, value = next(iter(errors.items()))
        name = key if key != "non_field_errors" else ""
        return _first_error(value, f"{path}.{name}" if path and name else path or name)
    if isinstance(errors, list):
        return _first_error(errors[0], path)
    return path, errors


def validated(serializer_class: type[serializers.Serializer], data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a socket frame (or a query string) with the operation's serializer: its validated
    data, or one ServiceError (an `error` frame, a 400 `{detail, code}`) naming the first invalid field."""
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    path, error = _first_error(serializer.errors)
    field = path.split(".")[0] or "frame"
    codes: Mapping[str, str] = getattr(serializer_class, "error_codes", {})
    code = codes.get(f"{field}.{getattr(error, 'code', '')}") or codes.get(field) or f"invalid_{field}"
    raise ServiceError(code, f"`{path or field}`: {error}")
