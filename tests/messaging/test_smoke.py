import pytest

from tests.factories import group_with, post


@pytest.mark.django_db
def test_message_post_and_list(api, alice, bob):
    conversation = group_with(alice, bob)
    response = api(alice).post(f"/api/v1/conversations/{conversation.id}/messages/", {"body": "hi", "client_id": "c1"}, format="json")
    assert response.status_code == 201, response.json()
    again = api(alice).post(f"/api/v1/conversations/{conversation.id}/messages/", {"body": "hi", "client_id": "c1"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    post(conversation, bob, "yo")
    listed = api(bob).get(f"/api/v1/conversations/{conversation.id}/messages/").json()
    assert [m["seq"] for m in listed] == [1, 2]
    convs = api(alice).get("/api/v1/conversations/").json()
    assert convs[0]["unread_count"] == 1


@pytest.mark.django_db
def test_other_company_gets_404(api, alice, bob, mallory):
    conversation = group_with(alice, bob)
    assert api(mallory).get(f"/api/v1/conversations/{conversation.id}/").status_code == 404
