"""Knocking in the browser: Alice may not enter a private space; its refusal offers "Knock…", she
knocks with a note; Bob, inside, sees the note with Admit / Deny, admits her, and she is inside."""

import pytest
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from presence.models import Presence
from tests.e2e.steps import enter, room_panel, send_in
from tests.factories import SpaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vault(company, bob):
    space = SpaceFactory(company=company, name="Vault", kind="office", is_private=True, x=20, y=20, w=320, h=180)
    assign_perm("spaces.enter_space", bob, space)
    return space


def test_knock_on_a_private_space_and_be_let_in(open_office, alice, bob, vault):
    b = open_office(bob)
    enter(b, vault)
    a = open_office(alice)
    a.allow("409")  # the refused entry, which the page turns into a toast
    where = a.page.locator(f'.space[data-space="{vault.id}"]')
    expect(where.locator(f'.avatar[data-user="{bob.id}"]')).to_be_visible()
    where.locator("[data-role=enter]").click()
    refusal = a.page.locator(".toast-error", has_text="Vault is private")
    expect(refusal).to_be_visible()
    refusal.get_by_role("button", name="Knock…").click()
    form = a.page.locator(f'.toast[data-knock-form="{vault.id}"]')
    note = form.get_by_label("Note (optional)")
    expect(note).to_be_focused()
    note.fill("Got a minute for the budget?")
    note.press("Enter")
    expect(a.page.locator(".toast", has_text="You knocked on Vault")).to_be_visible()

    knock = b.page.locator(".toast.knock-incoming")
    expect(knock).to_contain_text("Alice Archer knocks on Vault")
    expect(knock).to_contain_text("Got a minute for the budget?")
    # Keyboard: the toast's first button is reached with Alt+Shift+T, then Enter admits.
    b.page.keyboard.press("Alt+Shift+T")
    admit = knock.get_by_role("button", name="Admit")
    expect(admit).to_be_focused()
    b.page.keyboard.press("Enter")

    expect(a.page.locator(".toast", has_text="You were let into Vault.")).to_be_visible()
    for office in (a, b):
        space = office.page.locator(f'.space[data-space="{vault.id}"]')
        expect(space.locator(f'.avatar[data-user="{alice.id}"]')).to_be_visible()
    expect(knock).to_have_count(0)
    assert Presence.objects.get(user=alice).current_space_id == vault.id
    # Let in, she reads the room's chat while she stays, live.
    chat = room_panel(a)
    expect(chat).to_have_attribute("aria-label", "Room chat: Vault")
    send_in(room_panel(b), "Welcome in")
    expect(chat.locator(".message", has_text="Welcome in")).to_be_visible()
