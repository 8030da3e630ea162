"""`python manage.py seed_demo`: a believable demo office, written through the services.

Idempotent: companies are found by slug, people by username, spaces by name, group conversations by
title, direct ones by their pair, and every seeded message carries a stable `client_id`, so a second
run finds everything and writes nothing new (asking for more creates only what is missing). Demo
passwords are reset to `--password` so the printed logins are always true.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token

from demo import plan as demo_office
from messaging import services as messaging_services
from messaging.models import Conversation, Message, Participant
from presence.services import presence_get_or_create
from spaces.models import Space
from spaces.permissions import ENTER_PERM
from spaces.services import space_create
from virtual_office.models import Company, User


@dataclass
class SeededCompany:
    company: Company
    users: list[User]
    spaces: list[Space]
    conversations: list[Conversation] = field(default_factory=list)
    new_messages: int = 0


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Create (or complete) the demo office: companies, people, spaces, conversations and messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--companies", type=positive, default=2, help="number of companies (default 2)")
        parser.add_argument("--users", type=positive, default=8, help="people per company (default 8)")
        parser.add_argument("--spaces", type=non_negative, default=8, help="spaces per company (default 8)")
        parser.add_argument(
            "--messages", type=non_negative, default=None,
            help="messages per conversation (default: each conversation's script, 3 to 8 messages)",
        )
        parser.add_argument("--password", default="demo", help="password of every demo user (default 'demo')")
        parser.add_argument("--json", action="store_true", help="print one JSON object with ids, logins and tokens")
        parser.add_argument("--print-logins", action="store_true", help="print a table of the demo logins")

    def handle(self, *args: Any, **options: Any) -> None:
        password: str = options["password"]
        if not password:
            raise CommandError("--password must not be empty.")
        self.password_hash = _PasswordHash(password)
        # One transaction: a run that fails part-way (say, a username taken in another company)
        # writes nothing, and live clients get the events only once everything is there.
        with transaction.atomic():
            seeded = [
                self.seed_company(index, users=options["users"], spaces=options["spaces"], messages=options["messages"])
                for index in range(options["companies"])
            ]
        if options["json"]:
            self.stdout.write(json.dumps(as_json(seeded, password)))
            if options["print_logins"]:
                self.stderr.write(logins_table(seeded, password))
            return
        if options["print_logins"]:
            self.stdout.write(logins_table(seeded, password))
        else:
            users = sum(len(s.users) for s in seeded)
            spaces = sum(len(s.spaces) for s in seeded)
            conversations = sum(len(s.conversations) for s in seeded)
            new_messages = sum(s.new_messages for s in seeded)
            self.stdout.write(
                f"Demo office ready: {len(seeded)} companies, {users} people, {spaces} spaces, "
                f"{conversations} conversations ({new_messages} new messages). Password: {password}"
            )

    # -- one company -------------------------------------------------------------------------------

    def seed_company(self, index: int, *, users: int, spaces: int, messages: int | None) -> SeededCompany:
        plan = demo_office.company_plan(index)
        company, _ = Company.objects.get_or_create(slug=plan.slug, defaults={"name": plan.name})
        people = [self.seed_user(company, index, position) for position in range(users)]
        floor = self.seed_floor(company, admin=people[0], people=people, count=spaces)
        seeded = SeededCompany(company, people, floor)
        for conversation_plan in demo_office.CONVERSATIONS:
            self.seed_conversation(seeded, conversation_plan, messages)
        return seeded

    def seed_user(self, company: Company, company_index: int, position: int) -> User:
        person, username = demo_office.person_plan(company_index, position)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username,
                company=company,
                first_name=person.first,
                last_name=person.last,
                display_name=f"{person.first} {person.last}",
                title=person.title,
                email=f"{username.replace('.', '-')}@{company.slug}.example.com",
                is_company_admin=position == 0,
                password=self.password_hash.value,
            )
        elif user.company_id != company.id:
            raise CommandError(f"User {username!r} exists in another company; seed_demo will not move them.")
        elif not self.password_hash.matches(user):
            user.password = self.password_hash.value
            user.save(update_fields=["password"])
        Token.objects.get_or_create(user=user)
        presence_get_or_create(user)
        return user

    def seed_floor(self, company: Company, *, admin: User, people: list[User], count: int) -> list[Space]:
        existing = {space.name: space for space in Space.objects.filter(company=company)}
        floor = []
        for placed in demo_office.floor_layout(count):
            space = existing.get(placed.plan.name)
            if space is None:
                space = space_create(
                    actor=admin,
                    data={
                        "name": placed.plan.name,
                        "kind": placed.plan.kind,
                        "capacity": placed.plan.capacity,
                        "is_private": placed.plan.is_private,
                        "x": placed.x,
                        "y": placed.y,
                        "w": placed.w,
                        "h": placed.h,
                    },
                )
            if space.is_private:
                # space_create granted the admin; a few colleagues are invited too (idempotent grants).
                for guest in people[1 : 1 + demo_office.PRIVATE_SPACE_GUESTS]:
                    assign_perm(ENTER_PERM, guest, space)
            floor.append(space)
        return floor

    def seed_conversation(
        self, seeded: SeededCompany, plan: demo_office.ConversationPlan, messages: int | None
    ) -> None:
        people = seeded.users
        if plan.members is None:
            members = list(people)
        elif max(plan.members) < len(people):
            members = [people[i] for i in plan.members]
        else:
            return  # too few people for this conversation
        if len(members) < 2:
            return
        owner = members[0]
        new = False
        conversation: Conversation | None
        if plan.kind == "direct":
            conversation, new = messaging_services.direct_get_or_create(actor=owner, other_id=members[1].id)
        else:
            conversation = (
                Conversation.objects.filter(company=seeded.company, kind=Conversation.Kind.GROUP, title=plan.title)
                .order_by("id")
                .first()
            )
            if conversation is None:
                conversation = messaging_services.group_create(
                    actor=owner, title=plan.title, participant_ids=[m.id for m in members[1:]]
                )
                new = True
            else:
                active = set(
                    Participant.objects.filter(conversation=conversation, is_active=True).values_list(
                        "user_id", flat=True
                    )
                )
                if not {m.id for m in members} <= active:
                    messaging_services.conversation_update(
                        actor=owner,
                        conversation=conversation,
                        participant_ids=sorted(active | {m.id for m in members}),
                        may_manage=True,
                    )
        seeded.conversations.append(conversation)

        count = len(plan.script) if messages is None else messages
        sent: list[Message] = []
        created_ids: list[int] = []
        for index in range(count):
            speaker, body = demo_office.message_body(plan, index)
            message, created = messaging_services.message_send(
                actor=members[speaker % len(members)],
                conversation=conversation,
                body=body,
                client_id=f"seed:{plan.key}:{index}",
            )
            sent.append(message)
            if created:
                created_ids.append(message.id)
        seeded.new_messages += len(created_ids)
        if new and created_ids:
            # A fresh history reads like this morning's: space the messages out, oldest first.
            now = timezone.now()
            spacing = timedelta(minutes=demo_office.MESSAGE_SPACING_MINUTES)
            for position, message_id in enumerate(created_ids):
                Message.objects.filter(pk=message_id).update(
                    created_at=now - spacing * (len(created_ids) - position)
                )

        for key, index, reactor, emoji in demo_office.REACTIONS:
            if key == plan.key and index < len(sent) and reactor < len(members):
                messaging_services.reaction_add(actor=members[reactor], message=sent[index], emoji=emoji)

        # Everyone has read the history except the conversation's owner, who has read up to their
        # own last message, so a demo login shows unread badges. Read markers only move forward.
        rev = Conversation.objects.values_list("rev", flat=True).get(pk=conversation.pk)
        own = [m.seq for m in sent if m.sender_id == owner.id]
        for member in members:
            seq = (own[-1] if own else 0) if member is owner else rev
            if seq:
                messaging_services.conversation_mark_read(actor=member, conversation=conversation, seq=seq)


class _PasswordHash:
    """One hash of the demo password per run, shared by the demo users (hashing is slow on purpose)."""

    def __init__(self, password: str) -> None:
        self.password = password
        self._value: str | None = None
        self._known_good: set[str] = set()

    @property
    def value(self) -> str:
        if self._value is None:
            self._value = make_password(self.password)
            self._known_good.add(self._value)
        return self._value

    def matches(self, user: User) -> bool:
        if user.password in self._known_good:
            return True
        if user.check_password(self.password):
            self._known_good.add(user.password)
            return True
        return False


def as_json(seeded: list[SeededCompany], password: str) -> dict[str, Any]:
    tokens = dict(Token.objects.filter(user__in=[u for s in seeded for u in s.users]).values_list("user_id", "key"))
    return {
        "companies": [
            {
                "id": s.company.id,
                "slug": s.company.slug,
                "name": s.company.name,
                "spaces": [{"id": space.id, "name": space.name} for space in s.spaces],
                "users": [
                    {
                        "id": user.id,
                        "username": user.username,
                        "password": password,
                        "token": tokens[user.id],
                        "is_company_admin": user.is_company_admin,
                    }
                    for user in s.users
                ],
            }
            for s in seeded
        ]
    }


def logins_table(seeded: list[SeededCompany], password: str) -> str:
    rows = [("company", "username", "name", "title", "role")]
    for s in seeded:
        for user in s.users:
            role = "company admin" if user.is_company_admin else ""
            rows.append((s.company.name, user.username, user.name, user.title, role))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"Demo logins (password for everyone: {password})"]
    for position, row in enumerate(rows):
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if position == 0:
            lines.append("  " + "  ".join("-" * width for width in widths))
    return "\n".join(lines)
