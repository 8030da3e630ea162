"""The demo office that `seed_demo` writes: companies, people, a floor plan and conversation scripts.

Plain data and pure functions only (no database access), so the cast and the layout can be read,
changed and tested on their own. The command in `management/commands/seed_demo.py` turns them into rows
through the services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOOR_WIDTH = 1200
FLOOR_HEIGHT = 700
GUTTER = 20
MIN_ROW_HEIGHT = 110


@dataclass(frozen=True)
class DemoCompany:
    name: str
    slug: str


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    title: str


@dataclass(frozen=True)
class SpacePlan:
    name: str
    kind: str
    capacity: int
    weight: float  # relative width within its row
    is_private: bool = False


@dataclass(frozen=True)
class PlacedSpace:
    plan: SpacePlan
    x: int
    y: int
    w: int
    h: int


COMPANIES = [
    DemoCompany("Acme Robotics", "acme"),
    DemoCompany("Globex Labs", "globex"),
    DemoCompany("Initech", "initech"),
    DemoCompany("Hooli Systems", "hooli"),
    DemoCompany("Vandelay Industries", "vandelay"),
    DemoCompany("Soylent Foods", "soylent"),
]

# Each company takes the next PEOPLE_PER_COMPANY people of this list, so the two default companies
# have different staff and short usernames (alice, bob, ... at Acme; ivan, judy, ... at Globex).
PEOPLE = [
    Person("Alice", "Nguyen", "CEO"),
    Person("Bob", "Martin", "Engineering lead"),
    Person("Carol", "Diaz", "Product designer"),
    Person("Dave", "Okafor", "Backend engineer"),
    Person("Erin", "Walsh", "Frontend engineer"),
    Person("Frank", "Schmidt", "Account executive"),
    Person("Grace", "Kim", "Customer success"),
    Person("Heidi", "Novak", "Operations manager"),
    Person("Ivan", "Petrov", "Head of research"),
    Person("Judy", "Chen", "Research scientist"),
    Person("Karl", "Lindqvist", "Lab manager"),
    Person("Laura", "Rossi", "Data engineer"),
    Person("Mike", "Adeyemi", "Product manager"),
    Person("Nina", "Kowalski", "QA engineer"),
    Person("Oscar", "Fernandes", "Site reliability engineer"),
    Person("Peggy", "Olson", "Marketing lead"),
    Person("Quinn", "Murphy", "Recruiter"),
    Person("Rosa", "Alvarez", "Finance manager"),
    Person("Sam", "Taylor", "Support engineer"),
    Person("Tara", "Singh", "Security engineer"),
    Person("Umar", "Haddad", "Mobile engineer"),
    Person("Vera", "Ivanova", "UX researcher"),
    Person("Walter", "Brown", "Office manager"),
    Person("Yuki", "Tanaka", "Technical writer"),
]
PEOPLE_PER_COMPANY = 8

# In this order: the first N are the floor of a company seeded with --spaces N. The private space
# comes early so that even a small floor has one.
SPACES = [
    SpacePlan("Lobby", "lounge", 20, 1.4),
    SpacePlan("Engineering", "office", 10, 1.6),
    SpacePlan("Boardroom", "meeting_room", 12, 1.2),
    SpacePlan("Kitchen", "kitchen", 12, 1.0),
    SpacePlan("Leadership office", "office", 4, 1.0, is_private=True),
    SpacePlan("Focus booth", "focus", 1, 0.7),
    SpacePlan("Design studio", "office", 6, 1.2),
    SpacePlan("Huddle room", "meeting_room", 4, 0.9),
    SpacePlan("Quiet library", "focus", 6, 1.0),
    SpacePlan("Terrace", "lounge", 20, 1.4),
]
# How many people (after the company admin) get a guardian grant to enter the private space.
PRIVATE_SPACE_GUESTS = 2


def company_plan(index: int) -> DemoCompany:
    if index < len(COMPANIES):
        return COMPANIES[index]
    return DemoCompany(f"Company {index + 1}", f"company-{index + 1}")


def person_plan(company_index: int, user_index: int) -> tuple[Person, str]:
    """The person and the username for a company's user_index-th member.

    Usernames are unique across companies: the first company's are first names, later companies'
    carry their slug (`globex.ivan`), and a name reused within one company gets a number.
    """
    person = PEOPLE[(company_index * PEOPLE_PER_COMPANY + user_index) % len(PEOPLE)]
    round_ = user_index // len(PEOPLE)
    username = person.first.lower() + (str(round_ + 1) if round_ else "")
    if company_index > 0:
        username = f"{company_plan(company_index).slug}.{username}"
    return person, username


def space_plan(index: int) -> SpacePlan:
    if index < len(SPACES):
        return SPACES[index]
    return SpacePlan(f"Desk pod {index + 1}", "office", 6, 1.0)


def floor_layout(count: int) -> list[PlacedSpace]:
    """Tile `count` spaces over the floor in rows, widths in proportion to each space's weight.

    Rows fill the 1200x700 floor edge to edge with GUTTER between spaces; with very many spaces
    rows keep a usable minimum height and the floor grows downwards.
    """
    if count <= 0:
        return []
    plans = [space_plan(i) for i in range(count)]
    rows = max(1, round(math.sqrt(count * FLOOR_HEIGHT / FLOOR_WIDTH)))
    row_height = max(MIN_ROW_HEIGHT, (FLOOR_HEIGHT - GUTTER * (rows + 1)) // rows)
    base, extra = divmod(count, rows)
    placed: list[PlacedSpace] = []
    start = 0
    for row in range(rows):
        size = base + (1 if row < extra else 0)
        members = plans[start : start + size]
        start += size
        y = GUTTER + row * (row_height + GUTTER)
        usable = FLOOR_WIDTH - GUTTER * (size + 1)
        total_weight = sum(p.weight for p in members)
        x = GUTTER
        for position, plan in enumerate(members):
            if position == size - 1:
                w = FLOOR_WIDTH - GUTTER - x  # the last space absorbs rounding: rows end flush
            else:
                w = int(usable * plan.weight / total_weight)
            placed.append(PlacedSpace(plan, x, y, w, row_height))
            x += w + GUTTER
    return placed


@dataclass(frozen=True)
class ConversationPlan:
    key: str  # stable, part of every seeded message's client_id
    kind: str  # "group" or "direct"
    title: str
    members: tuple[int, ...] | None  # indexes into the company's users; None means everyone
    script: tuple[tuple[int, str], ...]  # (speaker index into members, body)


CONVERSATIONS = [
    ConversationPlan(
        "general",
        "group",
        "General",
        None,
        (
            (0, "Good morning everyone! Stand-up is in the Boardroom at 10:00."),
            (1, "Morning! I'll bring the release notes for 2.4."),
            (2, "The coffee machine in the Kitchen is fixed, by the way."),
            (3, "Finally. Productivity restored."),
            (0, "Reminder: the quarterly review deck is due on Friday."),
            (4, "I'm heads-down in the Focus booth until lunch; ping me if it's urgent."),
            (5, "Anyone up for lunch on the Terrace at 12:30?"),
            (2, "Count me in."),
        ),
    ),
    ConversationPlan(
        "launch",
        "group",
        "Launch planning",
        (0, 1, 2, 3),
        (
            (0, "Let's lock the launch date this week. Any blockers?"),
            (1, "Two open bugs on the sync path; both have fixes in review."),
            (2, "Landing page mock-ups are in the shared folder."),
            (3, "Load test tonight, I'll post the numbers here tomorrow morning."),
            (0, "Great. Tentatively Tuesday the 14th then."),
            (1, "Works for engineering."),
        ),
    ),
    ConversationPlan(
        "dm-0-1",
        "direct",
        "",
        (0, 1),
        (
            (0, "Do you have ten minutes for the hiring plan today?"),
            (1, "Sure, after stand-up? I'll come by your office."),
            (0, "Perfect, see you then."),
        ),
    ),
    ConversationPlan(
        "dm-1-2",
        "direct",
        "",
        (1, 2),
        (
            (1, "Could you take a look at the new onboarding flow?"),
            (2, "On it. Is the staging link the same as last week?"),
            (1, "Yes, same one. Thanks!"),
        ),
    ),
]


def message_body(plan: ConversationPlan, index: int) -> tuple[int, str]:
    """The index-th (speaker, body) of a conversation; past the script it continues with follow-ups."""
    speaker, body = plan.script[index % len(plan.script)]
    rounds = index // len(plan.script)
    if rounds:
        body = f"{body} (follow-up {rounds})"
    return speaker, body

# (conversation key, message index, reacting member index, emoji)
REACTIONS = [
    ("general", 0, 1, "👋"),
    ("general", 0, 2, "👋"),
    ("general", 2, 3, "☕"),
    ("launch", 4, 1, "🎉"),
]
# Minutes between seeded messages: a history that reads like this morning, not like one instant.
MESSAGE_SPACING_MINUTES = 7
