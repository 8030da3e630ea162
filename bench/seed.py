"""Benchmark data, written straight through the ORM (bulk, no per-row signals): one company, its users
with DRF tokens, one group conversation per audience size, and presence rows in a known state.

Idempotent: a second run reuses what exists and only adds what is missing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from messaging.models import Conversation, Participant
from presence.models import Connection, Presence
from virtual_office.models import Company, User

COMPANY_SLUG = "bench"
USERNAME = "bench-{:05d}"


@dataclass
class Seed:
    company_id: int
    user_ids: list[int]  # index 0 is the sender
    tokens: list[str]  # same order as user_ids
    conversations: dict[int, int]  # audience size -> conversation id


def _users(company: Company, count: int) -> list[User]:
    existing = {u.username: u for u in User.objects.filter(company=company, username__startswith="bench-")}
    missing = [
        User(username=USERNAME.format(i), company=company, display_name=f"Bench {i}", password="!bench")
        for i in range(count)
        if USERNAME.format(i) not in existing
    ]
    User.objects.bulk_create(missing, batch_size=1000)
    by_name = {u.username: u for u in User.objects.filter(company=company, username__startswith="bench-")}
    return [by_name[USERNAME.format(i)] for i in range(count)]


def _tokens(users: list[User]) -> list[str]:
    have = dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))
    new = [Token(key=secrets.token_hex(20), user=u) for u in users if u.id not in have]
    Token.objects.bulk_create(new, batch_size=1000)
    have.update({t.user_id: t.key for t in new})
    return [have[u.id] for u in users]


def _conversation(company: Company, sender: User, members: list[User], size: int) -> int:
    title = f"bench audience {size}"
    conversation = Conversation.objects.filter(company=company, kind=Conversation.Kind.GROUP, title=title).first()
    if conversation is None:
        conversation = Conversation.objects.create(
            company=company, kind=Conversation.Kind.GROUP, title=title, created_by=sender
        )
    wanted = {sender.id, *(u.id for u in members)}
    current = set(Participant.objects.filter(conversation=conversation).values_list("user_id", flat=True))
    Participant.objects.bulk_create(
        [Participant(conversation=conversation, user_id=uid) for uid in wanted - current], batch_size=1000
    )
    Participant.objects.filter(conversation=conversation).exclude(user_id__in=wanted).delete()
    Participant.objects.filter(conversation=conversation, is_active=False).update(is_active=True, left_at=None)
    return conversation.id


@transaction.atomic
def seed(user_count: int, sizes: list[int]) -> Seed:
    """`user_count` users (sender + receivers); a conversation of sender + users 1..N for each N."""
    company, _ = Company.objects.get_or_create(slug=COMPANY_SLUG, defaults={"name": "Benchmark"})
    users = _users(company, user_count)
    have = set(Presence.objects.filter(user__in=users).values_list("user_id", flat=True))
    Presence.objects.bulk_create([Presence(user=u) for u in users if u.id not in have], batch_size=1000)
    tokens = _tokens(users)
    conversations = {n: _conversation(company, users[0], users[1 : n + 1], n) for n in sizes}
    return Seed(company.id, [u.id for u in users], tokens, conversations)


def prepare_presence(seed: Seed, online: list[int], hold: timedelta = timedelta(minutes=10)) -> None:
    """Before a phase: the phase's users are already `connected` (so their sockets opening does not send
    a `presence.updated` to the whole company per connect, which is O(n^2) frames), everyone else is
    offline; stale `Connection` rows of earlier (stopped) servers are removed. Bulk updates: no signals.

    `updated_at` is put `hold` ahead so that the servers' sweep (connected, no live Connection row, not
    updated for PRESENCE_STALE_SECONDS) leaves users alone while their sockets are still being opened."""
    now = timezone.now()
    # Every user of the company, not only the seeded ones: a run with fewer users than an earlier one
    # must not leave those connected (the servers' sweep would settle them during the phase).
    Connection.objects.filter(user__company_id=seed.company_id).delete()
    Presence.objects.filter(user__company_id=seed.company_id).update(connected=False, updated_at=now)
    Presence.objects.filter(user_id__in=online).update(
        connected=True, status="online", current_space=None, last_seen=now, updated_at=now + hold
    )


COLD_GROUP_TITLE = "bench cold group"


def drop_cold_groups() -> int:
    """Delete the cold-group conversations of earlier phases (and their messages, participants and
    object permissions, by cascade). Run only while no bench server runs: the events these deletes
    would publish are dropped here (this process has no sockets and no hub)."""
    from unittest import mock

    ids = list(Conversation.objects.filter(title__startswith=COLD_GROUP_TITLE).values_list("id", flat=True))
    if not ids:
        return 0
    with mock.patch("virtual_office.realtime.send_now", lambda *args, **kwargs: None), transaction.atomic():
        Conversation.objects.filter(id__in=ids).delete()
    return len(ids)
