"""Who may do what to a space, endpoint by endpoint.

Roles: anonymous; member (alice: in the space, or granted a private one); other member (bob: same
company, not in it); company admin; foreign (mallory: another company, even as its admin, sees 404).
"""

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from spaces import services
from spaces.models import Space
from spaces.permissions import can_enter, enterable_private_space_ids

ROLES = ["anonymous", "member", "other", "admin", "foreign", "foreign_admin"]


@pytest.fixture
def foreign_admin(other_company):
    from tests.factories import UserFactory

    return UserFactory(company=other_company, username="globex-boss", is_company_admin=True)


@pytest.fixture
def people(alice, bob, admin_user, mallory, foreign_admin):
    return {
        "anonymous": None, "member": alice, "other": bob, "admin": admin_user, "foreign": mallory,
        "foreign_admin": foreign_admin,
    }


def client_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# Expected status per role, in ROLES order.
MATRIX = [
    ("get", "/api/v1/spaces/", None, "", [401, 200, 200, 200, 200, 200]),
    ("post", "/api/v1/spaces/", {"name": "New room"}, "", [401, 403, 403, 201, 403, 201]),
    ("get", "/api/v1/spaces/{id}/", None, "", [401, 200, 200, 200, 404, 404]),
    ("patch", "/api/v1/spaces/{id}/", {"capacity": 4}, "", [401, 403, 403, 200, 404, 404]),
    ("delete", "/api/v1/spaces/{id}/", None, "", [401, 403, 403, 204, 404, 404]),
    ("post", "/api/v1/spaces/{id}/enter/", None, "", [401, 200, 200, 200, 404, 404]),
    ("post", "/api/v1/spaces/{id}/leave/", None, "", [401, 200, 409, 409, 404, 404]),
    ("get", "/api/v1/spaces/{id}/conversation/", None, "", [401, 200, 200, 200, 404, 404]),
    ("post", "/api/v1/spaces/{id}/meeting/", {"title": "Sync"}, "", [401, 201, 403, 201, 404, 404]),
    ("delete", "/api/v1/spaces/{id}/meeting/", None, "meeting", [401, 200, 403, 200, 404, 404]),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role_index, role", list(enumerate(ROLES)))
@pytest.mark.parametrize("method, path, payload, setup, expected", MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_space_endpoint_matrix(people, space, method, path, payload, setup, expected, role_index, role):
    services.space_enter(actor=people["member"], space=space)
    if setup == "meeting":
        services.meeting_start(actor=people["member"], space=space, title="Running")
    before = Space.objects.values_list("id", "name", "capacity", "status").order_by("id")
    before = list(before)
    response = getattr(client_as(people[role]), method)(path.format(id=space.id), payload, format="json")
    assert response.status_code == expected[role_index], response.content
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] and body["detail"]
        assert list(Space.objects.values_list("id", "name", "capacity", "status").order_by("id")) == before


@pytest.mark.django_db
def test_foreign_user_cannot_tell_a_missing_space_from_anothers(api, mallory, space):
    assert api(mallory).get(f"/api/v1/spaces/{space.id}/").json() == api(mallory).get("/api/v1/spaces/987654/").json()


# A private space: visible on the floor, but entering and its room need a grant.
PRIVATE_MATRIX = [
    ("get", "/api/v1/spaces/{id}/", [200, 200, 200]),
    ("post", "/api/v1/spaces/{id}/enter/", [200, 409, 200]),
    ("get", "/api/v1/spaces/{id}/conversation/", [200, 404, 200]),
]


@pytest.mark.django_db
@pytest.mark.parametrize("who_index, who", list(enumerate(["granted", "other", "admin"])))
@pytest.mark.parametrize("method, path, expected", PRIVATE_MATRIX, ids=[f"{m} {p}" for m, p, _ in PRIVATE_MATRIX])
def test_private_space_matrix(people, space, method, path, expected, who_index, who):
    space.is_private = True
    space.save()
    assign_perm("spaces.enter_space", people["member"], space)
    user = {"granted": people["member"], "other": people["other"], "admin": people["admin"]}[who]
    response = getattr(client_as(user), method)(path.format(id=space.id))
    assert response.status_code == expected[who_index], response.content


@pytest.mark.django_db
def test_grants_are_object_grants_of_my_company_only(alice, mallory, space):
    from tests.factories import SpaceFactory

    space.is_private = True
    space.save()
    theirs = SpaceFactory(company=mallory.company, is_private=True)
    assign_perm("spaces.enter_space", alice, theirs)  # a mistaken cross-company grant opens nothing
    assert enterable_private_space_ids(alice) == set()
    assert not can_enter(alice, theirs)
    assign_perm("spaces.enter_space", alice, space)
    assert enterable_private_space_ids(alice) == {space.id}
    assert can_enter(alice, space)


@pytest.mark.django_db
def test_grants_go_with_their_space(alice, space):
    from spaces.models import SpaceUserObjectPermission

    assign_perm("spaces.enter_space", alice, space)
    assert SpaceUserObjectPermission.objects.filter(content_object=space).exists()
    space.delete()
    assert not SpaceUserObjectPermission.objects.exists()
