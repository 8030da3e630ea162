"""The admin shows calls and teleports (list, search, detail) without letting anyone rewrite their states."""

import pytest
from django.test import Client

from calling import services
from calling.models import Call
from spaces import services as space_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(company):
    return UserFactory(company=company, username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def browser(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_call_admin_lists_searches_and_shows(alice, bob, ring, browser, django_assert_max_num_queries):
    call = ring(alice, bob)
    services.call_end(actor=alice, call=services.call_accept(actor=bob, call=call))
    with django_assert_max_num_queries(12):
        response = browser.get("/admin/calling/call/")
    assert response.status_code == 200 and "Alice Archer" in response.text
    assert browser.get("/admin/calling/call/?q=bob").status_code == 200
    detail = browser.get(f"/admin/calling/call/{call.id}/change/")
    assert detail.status_code == 200 and "Ended" in detail.text
    assert browser.get("/admin/calling/call/add/").status_code == 403


def test_admin_cannot_move_a_state(alice, bob, ring, browser):
    call = ring(alice, bob)
    services.call_decline(actor=bob, call=call)
    browser.post(f"/admin/calling/call/{call.id}/change/", {"state": "ringing", "kind": "video"})
    call.refresh_from_db()
    assert (call.state, call.kind) == ("declined", "voice")


def test_teleport_admin(alice, bob, online, space, browser):
    space_services.space_enter(actor=alice, space=space)
    teleport = services.teleport_create(actor=alice, invitee_id=bob.id)
    response = browser.get("/admin/calling/teleport/?q=Lounge")
    assert response.status_code == 200 and "Lounge" in response.text
    assert browser.get(f"/admin/calling/teleport/{teleport.id}/change/").status_code == 200
    assert not Call.objects.exists()
