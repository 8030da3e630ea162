"""Single sign-on through a real OpenID Connect provider: django-oauth-toolkit in a process of its
own (tests/sso/oidc_provider.py), driven from the office's sign-in page in Chromium: discovery,
authorization code with PKCE, token exchange, the signed ID token and userinfo are all real."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import expect

from sso import services as sso_services
from tests.factories import UserFactory
from tests.servers import free_port
from virtual_office.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "virtual-office", "s3cret-for-tests"
IDP_PASSWORD = "idp-password"
IDP_USERS = [
    ("nina.idp", "nina@acme.test", "Nina Novak"),
    ("bob.idp", "bob@acme.test", "Bob Baker"),
    ("mallory.idp", "mallory@evil.test", "Mallory Moe"),
    ("unverified.idp", "ursula@acme.test", "Ursula Unverified"),
]


@pytest.fixture
def identity_provider(live_server_url: str, company) -> Iterator[str]:
    """The provider's issuer URL; its client is registered for acme's callback on the office."""
    port = free_port()
    callback = f"{live_server_url}/accounts/oidc/company-{company.slug}/login/callback/"
    command = [
        sys.executable,
        "-m",
        "tests.sso.oidc_provider",
        "--port",
        str(port),
        "--redirect-uri",
        callback,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--unverified",
        "ursula@acme.test",
    ]
    for username, email, name in IDP_USERS:
        command += ["--user", f"{username}:{IDP_PASSWORD}:{email}:{name}"]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        line = process.stdout.readline()
        while line.strip() != "ready":
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test identity provider did not start: {line}{process.stdout.read()}")
            line = process.stdout.readline()
        yield f"http://127.0.0.1:{port}/o"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def acme_sign_on(company, identity_provider):
    admin = UserFactory(company=company, username="acme-admin", is_company_admin=True)
    return sso_services.sign_on_set(
        actor=admin,
        issuer=identity_provider,
        client_id=CLIENT_ID,
        secret=CLIENT_SECRET,
        email_domains=["acme.test"],
        enabled=True,
    )


@pytest.fixture
def signed_out_page(browser, live_server_url):
    context = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    yield page
    context.close()


def sign_in_through_provider(page, *, work_email: str, idp_username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Work email").fill(work_email)
    page.get_by_role("button", name="Continue with single sign-on").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(idp_username)
    page.get_by_label("Password").fill(IDP_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()


def test_a_new_person_at_the_company_domain_joins_through_its_provider(acme_sign_on, company, signed_out_page):
    page = signed_out_page
    sign_in_through_provider(page, work_email="nina@acme.test", idp_username="nina.idp")
    page.wait_for_function("() => window.office && window.office.socket.everOpened", timeout=30_000)
    nina = User.objects.get(email="nina@acme.test")
    assert nina.company_id == company.id and not nina.is_company_admin
    assert nina.display_name == "Nina Novak"
    assert SocialAccount.objects.filter(user=nina, provider=acme_sign_on.app.provider_id).exists()
    expect(page.locator("body")).to_contain_text("Nina Novak")


def test_a_colleague_with_that_email_is_signed_in_as_themselves(acme_sign_on, company, bob, signed_out_page):
    bob.email = "bob@acme.test"
    bob.save(update_fields=["email"])
    people_before = User.objects.count()
    sign_in_through_provider(signed_out_page, work_email="bob@acme.test", idp_username="bob.idp")
    signed_out_page.wait_for_function("() => window.office && window.office.socket.everOpened", timeout=30_000)
    assert User.objects.count() == people_before
    assert SocialAccount.objects.get(provider=acme_sign_on.app.provider_id).user_id == bob.id
    # The second time, the linked account signs bob in again.
    signed_out_page.context.clear_cookies()
    sign_in_through_provider(signed_out_page, work_email="bob@acme.test", idp_username="bob.idp")
    signed_out_page.wait_for_function("() => window.office && window.office.socket.everOpened", timeout=30_000)
    assert User.objects.count() == people_before


def test_an_address_outside_the_company_domains_is_refused(acme_sign_on, signed_out_page):
    people_before = User.objects.count()
    sign_in_through_provider(signed_out_page, work_email="nina@acme.test", idp_username="mallory.idp")
    expect(signed_out_page.get_by_role("alert")).to_contain_text("Acme signs in people at acme.test")
    expect(signed_out_page.get_by_role("alert")).to_contain_text("mallory@evil.test")
    assert User.objects.count() == people_before


def test_an_address_the_provider_does_not_vouch_for_is_refused(acme_sign_on, signed_out_page):
    people_before = User.objects.count()
    sign_in_through_provider(signed_out_page, work_email="ursula@acme.test", idp_username="unverified.idp")
    expect(signed_out_page.get_by_role("alert")).to_contain_text("did not confirm your email address")
    assert User.objects.count() == people_before


def test_a_deactivated_colleague_is_refused(acme_sign_on, bob, signed_out_page):
    bob.email, bob.is_active = "bob@acme.test", False
    bob.save(update_fields=["email", "is_active"])
    sign_in_through_provider(signed_out_page, work_email="bob@acme.test", idp_username="bob.idp")
    expect(signed_out_page.get_by_role("alert")).to_contain_text("deactivated")
    assert not SocialAccount.objects.exists()


def test_an_email_without_single_sign_on_is_told_so(live_server_url, signed_out_page):
    page = signed_out_page
    page.goto("/accounts/login/")
    page.get_by_label("Work email").fill("someone@nowhere.test")
    page.get_by_role("button", name="Continue with single sign-on").click()
    expect(page.get_by_role("alert")).to_contain_text("No single sign-on is set up for that address")
    expect(page.get_by_label("Work email")).to_have_value("someone@nowhere.test")
