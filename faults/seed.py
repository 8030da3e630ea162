"""Bulk data for `make faults`, written straight through the ORM (fast: thousands of users in seconds).

Run by faults/run.py against its private database:

    echo '{"companies": {"f-storm": 1000, "f-kill": 60}}' | python faults/seed.py

creates each company (slug -> number of users) with its users (`<slug>-0000` ...), a DRF token
and an offline presence row for each, and prints one JSON object:
`{"companies": {slug: {"id": ..., "users": [{"id", "username", "token"}]}}}`.
Conversations are created by the checks themselves, through the REST API.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "virtual_office.settings")


def seed(companies: dict[str, int]) -> dict:
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from presence.models import Presence
    from virtual_office.models import Company, User

    out: dict = {"companies": {}}
    with transaction.atomic():
        for slug, count in companies.items():
            company, _ = Company.objects.get_or_create(slug=slug, defaults={"name": f"Faults {slug}"})
            names = [f"{slug}-{i:04d}" for i in range(count)]
            existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
            User.objects.bulk_create(
                [User(username=n, company=company, display_name=n, password="!faults") for n in names
                 if n not in existing],
                batch_size=1000,
            )
            users = {u.username: u for u in User.objects.filter(username__in=names)}
            ordered = [users[n] for n in names]
            have = set(Presence.objects.filter(user__in=ordered).values_list("user_id", flat=True))
            Presence.objects.bulk_create([Presence(user=u) for u in ordered if u.id not in have], batch_size=1000)
            tokens = dict(Token.objects.filter(user__in=ordered).values_list("user_id", "key"))
            new = [Token(key=secrets.token_hex(20), user=u) for u in ordered if u.id not in tokens]
            Token.objects.bulk_create(new, batch_size=1000)
            tokens.update({t.user_id: t.key for t in new})
            out["companies"][slug] = {
                "id": company.id,
                "users": [{"id": u.id, "username": u.username, "token": tokens[u.id]} for u in ordered],
            }
    return out


def main() -> int:
    import django

    django.setup()
    spec = json.loads(sys.stdin.read() or "{}")
    json.dump(seed({k: int(v) for k, v in spec.get("companies", {}).items()}), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
