"""`seed_demo`: idempotent, options change what it creates, `--json` logins work against the API."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from guardian.models import UserObjectPermission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from demo import plan as demo_office
from messaging.models import Conversation, Message, Participant, Reaction
from presence.models import Presence
from spaces.models import Space, SpaceUserObjectPermission
from spaces.permissions import can_enter
from tests.factories import CompanyFactory, UserFactory
from virtual_office.models import Company, User

pytestmark = pytest.mark.django_db

MODELS = [
    Company, User, Space, Conversation, Participant, Message, Reaction, Token, Presence,
    SpaceUserObjectPermission, UserObjectPermission,
]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_default_office_is_believable():
    seed()
    companies = {c.slug: c for c in Company.objects.all()}
    assert set(companies) == {"acme", "globex"}
    assert companies["acme"].name == "Acme Robotics"
    for company in companies.values():
        people = list(User.objects.filter(company=company).order_by("id"))
        assert len(people) == 8
        assert people[0].is_company_admin and not any(p.is_company_admin for p in people[1:])
        assert all(p.display_name and p.title for p in people)
        spaces = list(Space.objects.filter(company=company))
        assert 6 <= len(spaces) <= 10
        assert {s.kind for s in spaces} >= {"office", "meeting_room", "lounge", "focus", "kitchen"}
        assert sum(s.is_private for s in spaces) == 1
        kinds = set(Conversation.objects.filter(company=company).values_list("kind", flat=True))
        assert kinds == {"direct", "group"}
        assert Message.objects.filter(conversation__company=company).count() >= 10
    assert User.objects.filter(username="alice", company=companies["acme"]).exists()
    assert User.objects.filter(username="globex.ivan", company=companies["globex"]).exists()


def test_running_twice_writes_nothing_new():
    seed()
    first = counts()
    revs = dict(Conversation.objects.values_list("id", "rev"))
    passwords = dict(User.objects.values_list("id", "password"))
    assert "0 new messages" in seed()
    assert counts() == first
    assert dict(Conversation.objects.values_list("id", "rev")) == revs
    assert dict(User.objects.values_list("id", "password")) == passwords


def test_revisions_are_gapless_and_seq_is_the_creation_rev():
    seed("--messages", "5")
    for conversation in Conversation.objects.all():
        messages = list(conversation.messages.order_by("seq"))
        reactions = Reaction.objects.filter(message__conversation=conversation).count()
        assert [m.seq for m in messages] == sorted({m.seq for m in messages})
        # Every message creation and every reaction took exactly one revision.
        assert conversation.rev == len(messages) + reactions
        assert max(m.rev for m in messages) == conversation.rev
        created = [m.created_at for m in messages]
        assert created == sorted(created)


def test_json_is_one_object_and_its_tokens_and_passwords_work():
    out = seed("--json", "--password", "s3cret-demo", "--print-logins")
    data = json.loads(out)  # nothing else on stdout
    assert [c["slug"] for c in data["companies"]] == ["acme", "globex"]
    acme = data["companies"][0]
    assert set(acme) == {"id", "slug", "name", "spaces", "users"}
    assert {s["name"] for s in acme["spaces"]} == set(
        Space.objects.filter(company_id=acme["id"]).values_list("name", flat=True)
    )
    usernames = [u["username"] for c in data["companies"] for u in c["users"]]
    assert len(usernames) == len(set(usernames)) == 16
    for company in data["companies"]:
        user = company["users"][0]
        assert set(user) == {"id", "username", "password", "token", "is_company_admin"}
        assert user["is_company_admin"] is True and user["password"] == "s3cret-demo"
        client = APIClient()
        response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {user['token']}")
        assert response.status_code == 200, response.content
        assert response.json()["username"] == user["username"]
    login = APIClient().post(
        "/api/v1/auth/token/", {"username": "bob", "password": "s3cret-demo"}, format="json"
    )
    assert login.status_code == 200
    bob = next(u for u in acme["users"] if u["username"] == "bob")
    assert login.json()["token"] == bob["token"]
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-token").status_code == 401


def test_another_password_on_a_second_run_resets_the_demo_logins():
    seed("--companies", "1", "--users", "2")
    seed("--companies", "1", "--users", "2", "--password", "other-pass")
    assert User.objects.get(username="bob").check_password("other-pass")
    assert User.objects.count() == 2


def test_options_change_what_is_created():
    seed("--companies", "1", "--users", "3", "--spaces", "6", "--messages", "2")
    assert Company.objects.count() == 1
    assert User.objects.count() == 3
    assert Space.objects.count() == 6
    # "Launch planning" needs four people: with three there are General and two direct ones.
    assert Conversation.objects.count() == 3
    assert Message.objects.count() == 3 * 2

    seed("--companies", "3", "--users", "5", "--spaces", "10", "--messages", "4")
    assert Company.objects.count() == 3
    assert User.objects.count() == 15
    assert Space.objects.count() == 30
    assert Conversation.objects.count() == 3 * 4
    assert Message.objects.count() == 3 * 4 * 4
    general = Conversation.objects.get(company__slug="acme", title="General")
    assert general.participants.filter(is_active=True).count() == 5  # people added later joined


def test_floor_tiles_without_overlap():
    for count in [1, 6, 8, 10, 17, 40]:
        placed = demo_office.floor_layout(count)
        assert len(placed) == count
        assert len({p.plan.name for p in placed}) == count
        for p in placed:
            assert p.x >= demo_office.GUTTER and p.x + p.w <= demo_office.FLOOR_WIDTH - demo_office.GUTTER
            assert p.w >= 40 and p.h >= demo_office.MIN_ROW_HEIGHT
        for i, a in enumerate(placed):
            for b in placed[i + 1 :]:
                apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
                assert apart, (a, b)
    for p in demo_office.floor_layout(8):
        assert p.y + p.h <= demo_office.FLOOR_HEIGHT - demo_office.GUTTER


def test_private_space_is_open_to_its_guests_only():
    seed()
    private = Space.objects.get(company__slug="acme", is_private=True)
    people = list(User.objects.filter(company__slug="acme").order_by("id"))
    allowed = [p.username for p in people if can_enter(p, private)]
    assert allowed == [p.username for p in people[: 1 + demo_office.PRIVATE_SPACE_GUESTS]]
    globex_admin = User.objects.get(username="globex.ivan")
    assert not can_enter(globex_admin, private)


def test_a_username_taken_in_another_company_stops_the_run_and_writes_nothing():
    UserFactory(company=CompanyFactory(slug="elsewhere"), username="globex.judy")
    before = counts()
    with pytest.raises(CommandError, match="globex.judy"):
        seed()
    assert counts() == before


@pytest.mark.parametrize("option", ["--companies", "--users"])
def test_counts_must_be_positive(option):
    with pytest.raises(CommandError):
        seed(option, "0")
    assert Company.objects.count() == 0


def test_print_logins_lists_every_demo_user():
    out = seed("--print-logins", "--companies", "1", "--users", "3")
    assert "password for everyone: demo" in out
    for username in ["alice", "bob", "carol"]:
        assert username in out
    assert "company admin" in out
