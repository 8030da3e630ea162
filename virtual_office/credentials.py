"""Whether the credentials that opened sockets still hold (checked periodically by the hub)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare


def credentials_still_valid(
    *, session_keys: set[str], user_ids: set[int], token_keys: set[str]
) -> tuple[set[str], set[int], set[str]]:
    """Which of these sessions, users and tokens still authenticate: a few queries per check, however
    many sockets (open sockets whose credentials are gone get closed by
    `consumers.close_revoked_sockets`). A session counts only while it exists and its user's
    password is the one it was opened with, as for HTTP requests (a password change logs other
    sessions out)."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    if session_keys:
        if settings.SESSION_ENGINE.endswith((".backends.db", ".backends.cached_db")):
            store = SessionStore()  # what Session.get_session_store_class() gives, for db and cached_db
            rows = Session.objects.filter(session_key__in=session_keys, expire_date__gt=timezone.now()).values_list(
                "session_key", "session_data"
            )
            data = {key: store.decode(raw) for key, raw in rows}
        else:
            from importlib import import_module

            store_class = import_module(settings.SESSION_ENGINE).SessionStore
            data = {key: loaded for key in session_keys if (loaded := store_class(session_key=key).load())}
    else:
        data = {}
    owners = {key: _session_user_id(values) for key, values in data.items()}
    # One query for the sockets' users and the sessions' owners (the password is in the session hash).
    active = {
        user.pk: user
        for user in user_model.objects.filter(pk__in=user_ids | {u for u in owners.values() if u}, is_active=True).only(
            "pk", "password"
        )
    }
    sessions = {
        key
        for key, values in data.items()
        if (owner := owners[key]) is not None
        and owner in active
        and _session_hash_matches(active[owner], values.get(HASH_SESSION_KEY, ""))
    }
    users = {pk for pk in active if pk in user_ids}
    tokens = set(Token.objects.filter(key__in=token_keys, user__is_active=True).values_list("key", flat=True))
    return sessions, users, tokens


def _session_user_id(values: dict) -> int | None:
    try:
        return int(values[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


def _session_hash_matches(user, session_hash: str) -> bool:
    """As `django.contrib.auth.get_user` checks it: the current hash, or one made with SECRET_KEY_FALLBACKS."""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(session_hash, expected) for expected in hashes)
