"""POST spaces/{id}/av/token/: 404 without LiveKit; with it, a token for occupants only whose claims
decode with livekit-api (room space-<id>, identity user-<id>); another company's space is a 404."""

import pytest
from livekit import api as livekit_api

from spaces import services as space_services
from tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

KEY, SECRET, URL = "devkey", "secret-of-at-least-32-characters-long", "ws://127.0.0.1:7880"


@pytest.fixture
def livekit(settings):
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = URL, KEY, SECRET


def url(space) -> str:
    return f"/api/v1/spaces/{space.id}/av/token/"


def test_404_without_livekit(api, alice, space):
    space_services.space_enter(actor=alice, space=space)
    response = api(alice).post(url(space))
    assert response.status_code == 404
    assert response.json()["code"] == "sfu_not_configured"


def test_token_for_an_occupant(api, alice, space, livekit):
    space_services.space_enter(actor=alice, space=space)
    response = api(alice).post(url(space))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["url"] == URL and body["room"] == f"space-{space.id}"
    claims = livekit_api.TokenVerifier(KEY, SECRET).verify(body["token"])
    assert claims.identity == f"user-{alice.id}"
    assert claims.name == alice.name
    assert claims.video.room == f"space-{space.id}" and claims.video.room_join is True
    assert claims.video.can_publish and claims.video.can_subscribe


def test_no_token_for_non_occupants_nor_another_company(api, alice, bob, mallory, space, livekit):
    space_services.space_enter(actor=alice, space=space)
    response = api(bob).post(url(space))
    assert response.status_code == 404 and response.json()["code"] == "not_in_space"
    assert api(mallory).post(url(space)).status_code == 404
    their_space = SpaceFactory(company=mallory.company, name="Theirs")
    space_services.space_enter(actor=mallory, space=their_space)
    assert api(alice).post(url(their_space)).status_code == 404
    assert api(mallory).post(url(their_space)).status_code == 200
    assert api(None).post(url(space)).status_code in (401, 403)
    assert api(alice).post("/api/v1/spaces/999999999/av/token/").status_code == 404
