"""An invitation link signs one new person up into the inviting company, once, until it expires;
expired, used, withdrawn and unknown links get a page that says so."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from console.models import AuditEvent, Invitation
from console.services import company_settings_update, invitation_create, invitation_revoke
from presence.models import QuietHours
from virtual_office.models import User

pytestmark = pytest.mark.django_db

GOOD = {
    "display_name": "Zoe Zimmer",
    "username": "zoe",
    "password1": "a long pass phrase",
    "password2": "a long pass phrase",
}


def invite(admin, email="zoe@example.com", role="member"):
    issued = invitation_create(actor=admin, email=email, role=role, base_url="http://testserver/")
    return issued.invitation, f"/accounts/invite/{issued.token}/"


def test_the_link_signs_up_into_the_inviting_company_and_lands_in_the_office(client, admin_user, other_admin):
    invitation, url = invite(admin_user)
    invite(other_admin, email="zoe@example.com")  # the same address invited elsewhere changes nothing here
    page = client.get(url)
    assert page.status_code == 200
    assert "Join Acme" in page.content.decode() and "zoe@example.com" in page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    answer = client.post(url, GOOD)
    assert answer.status_code == 302 and answer["Location"] == "/"
    zoe = User.objects.get(username="zoe")
    assert zoe.company_id == admin_user.company_id and zoe.email == "zoe@example.com"
    assert zoe.display_name == "Zoe Zimmer" and not zoe.is_company_admin and zoe.check_password(GOOD["password1"])
    assert client.get("/").status_code == 200  # signed in
    invitation.refresh_from_db()
    assert invitation.accepted_by == zoe and invitation.status == "accepted"
    actions = list(AuditEvent.objects.filter(company=admin_user.company).values_list("action", flat=True))
    assert "invitation.accepted" in actions and "login" in actions


def test_an_admin_invitation_makes_an_admin(client, admin_user):
    _, url = invite(admin_user, role="admin")
    client.post(url, GOOD)
    assert User.objects.get(username="zoe").is_company_admin


def test_a_used_link_says_so(client, admin_user):
    _, url = invite(admin_user)
    client.post(url, GOOD)
    again = type(client)()
    page = again.get(url)
    assert page.status_code == 200 and "was used already" in page.content.decode()
    second = again.post(url, {**GOOD, "username": "zoe2"})
    assert second.status_code == 200
    assert not User.objects.filter(username="zoe2").exists()


def test_an_expired_link_says_so(client, admin_user):
    invitation, url = invite(admin_user)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(url)
    assert page.status_code == 200 and "has expired" in page.content.decode()
    assert client.post(url, GOOD).status_code == 200
    assert not User.objects.filter(username="zoe").exists()


def test_a_withdrawn_or_unknown_link_says_so(client, admin_user):
    invitation, url = invite(admin_user)
    invitation_revoke(actor=admin_user, invitation=invitation)
    assert "withdrawn" in client.get(url).content.decode()
    unknown = client.get("/accounts/invite/not-a-real-token/")
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()


def test_password_rules_and_username_clashes_are_said_on_the_form(client, admin_user, alice):
    _, url = invite(admin_user)
    for password, sentence in (
        ("short", "too short"),
        ("12345678901", "entirely numeric"),
        ("password123", "too common"),
        ("zoe@example.com", "too similar"),
    ):
        page = client.post(url, {**GOOD, "password1": password, "password2": password})
        assert page.status_code == 200 and sentence in page.content.decode(), password
    differ = client.post(url, {**GOOD, "password2": "something else entirely"})
    assert "passwords differ" in differ.content.decode()
    taken = client.post(url, {**GOOD, "username": "ALICE"})
    assert taken.status_code == 200 and "is taken" in taken.content.decode()
    assert User.objects.filter(company=admin_user.company, email="zoe@example.com").count() == 0
    # The link still works after refusals.
    assert client.post(url, GOOD).status_code == 302


def test_another_companys_admin_cannot_withdraw_it(api, admin_user, other_admin):
    invitation, url = invite(admin_user)
    assert api(other_admin).delete(f"/api/v1/invitations/{invitation.id}/").status_code == 404
    assert Invitation.objects.get(pk=invitation.pk).status == "pending"


def test_new_people_get_the_companys_default_quiet_hours(client, admin_user):
    company_settings_update(actor=admin_user, quiet_hours=("Europe/Berlin", [0, 1, 2, 3, 4], time(18), time(9)))
    _, url = invite(admin_user)
    client.post(url, GOOD)
    schedule = QuietHours.objects.get(user__username="zoe")
    assert (schedule.timezone, schedule.days, schedule.start, schedule.end) == (
        "Europe/Berlin",
        [0, 1, 2, 3, 4],
        time(18),
        time(9),
    )


def test_password_reset_mails_a_link_that_sets_a_new_password(client, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    assert client.get("/accounts/password_reset/").status_code == 200
    answer = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert answer.status_code == 302 and answer["Location"] == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 1 and "Reset your Virtual Office password" in mailoutbox[0].subject
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "fresh pass phrase", "new_password2": "fresh pass phrase"}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("fresh pass phrase")
    # The link works once.
    assert "does not work any more" in client.get(path, follow=True).content.decode()


def test_password_reset_requests_are_throttled_per_email(client, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    for _ in range(3):
        assert client.post("/accounts/password_reset/", {"email": "Alice@example.com"}).status_code == 302
    refused = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many password reset requests" in refused.content.decode()
    assert len(mailoutbox) == 3  # no fourth mail
    # Another address still gets its answer (the address budget is larger).
    assert client.post("/accounts/password_reset/", {"email": "someone@example.com"}).status_code == 302
