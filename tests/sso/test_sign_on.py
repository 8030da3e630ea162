"""Single sign-on settings (services and the console page) and who the adapter lets in. The whole
flow through a real provider is tests/e2e/test_sso.py."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin
from django.test import RequestFactory

from sso import services
from sso.adapters import CompanySocialAccountAdapter
from sso.models import CompanySignOn
from sso.selectors import sign_on_for_email
from tests.factories import UserFactory
from virtual_office.errors import ServiceError

pytestmark = pytest.mark.django_db

ISSUER = "https://login.acme.test/realms/acme"


@pytest.fixture
def acme_admin(company):
    return UserFactory(company=company, is_company_admin=True)


@pytest.fixture
def globex_admin(other_company):
    return UserFactory(company=other_company, is_company_admin=True)


def set_up(admin, domains=("acme.test",), **changes):
    values = {
        "issuer": ISSUER,
        "client_id": "office",
        "secret": "s3cret",
        "email_domains": list(domains),
        "enabled": True,
        **changes,
    }
    return services.sign_on_set(actor=admin, **values)


def test_an_admin_sets_up_the_company_provider(acme_admin, company):
    sign_on = set_up(acme_admin, domains=["acme.test", "acme.example"])
    app = sign_on.app
    assert (app.provider, app.provider_id, app.client_id, app.secret) == (
        "openid_connect",
        "company-acme",
        "office",
        "s3cret",
    )
    assert app.settings == {"server_url": ISSUER, "oauth_pkce_enabled": True}
    assert sign_on.company == company and sign_on.domains == ["acme.test", "acme.example"]
    assert sign_on_for_email("Nina@ACME.test") == sign_on
    assert sign_on_for_email("nina@notacme.test") is None
    assert sign_on_for_email("not an address") is None


def test_changing_it_keeps_the_secret_unless_a_new_one_is_given(acme_admin):
    set_up(acme_admin)
    sign_on = set_up(acme_admin, secret="", client_id="office-2")
    assert (sign_on.app.client_id, sign_on.app.secret) == ("office-2", "s3cret")
    assert SocialApp.objects.count() == 1 and CompanySignOn.objects.count() == 1


def test_a_disabled_sign_on_signs_nobody_in(acme_admin):
    set_up(acme_admin, enabled=False)
    assert sign_on_for_email("nina@acme.test") is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"issuer": "login.acme.test"}, "invalid_issuer"),
        ({"client_id": "  "}, "invalid_client_id"),
        ({"email_domains": []}, "invalid_email_domains"),
        ({"secret": ""}, "invalid_secret"),
    ],
)
def test_bad_settings_are_refused_with_a_code(acme_admin, changes, code):
    with pytest.raises(ServiceError) as refused:
        set_up(acme_admin, **changes)
    assert refused.value.code == code
    assert not SocialApp.objects.exists()


def test_domains_are_checked_and_normalised():
    assert services.parse_domains("Acme.test, @acme.example\nacme.test") == ["acme.example", "acme.test"]
    with pytest.raises(ServiceError) as refused:
        services.parse_domains("acme.test not_a_domain")
    assert refused.value.code == "invalid_email_domains"


def test_a_domain_belongs_to_one_company(acme_admin, globex_admin):
    set_up(acme_admin)
    with pytest.raises(ServiceError) as refused:
        set_up(globex_admin, domains=["acme.test"])
    assert (refused.value.code, refused.value.status) == ("email_domain_taken", 409)


def test_only_company_admins_set_it_up(alice):
    with pytest.raises(ServiceError) as refused:
        set_up(alice)
    assert refused.value.status == 403


def test_turning_it_off_removes_the_provider_and_its_links(acme_admin, alice):
    sign_on = set_up(acme_admin)
    SocialAccount.objects.create(user=alice, provider=sign_on.app.provider_id, uid="alice-at-idp")
    services.sign_on_delete(actor=acme_admin)
    assert not SocialApp.objects.exists() and not CompanySignOn.objects.exists()


# The console page, across two companies.


def test_the_settings_page_is_for_company_admins_only(client, alice):
    assert client.get("/manage/sso/").status_code == 302  # signed out: to the sign-in page
    client.force_login(alice)
    assert client.get("/manage/sso/").status_code == 403
    assert client.post("/manage/sso/", {"issuer": ISSUER}).status_code == 403
    assert not SocialApp.objects.exists()


def test_an_admin_sees_and_changes_only_their_own_company(client, acme_admin, globex_admin):
    set_up(acme_admin)
    client.force_login(globex_admin)
    page = client.get("/manage/sso/")
    assert page.status_code == 200 and ISSUER not in page.content.decode()
    saved = client.post(
        "/manage/sso/",
        {
            "issuer": "https://id.globex.test",
            "client_id": "g",
            "secret": "x",
            "email_domains": "globex.test",
            "enabled": "on",
        },
    )
    assert saved.status_code == 302
    assert CompanySignOn.objects.get(company=globex_admin.company).domains == ["globex.test"]
    assert CompanySignOn.objects.get(company=acme_admin.company).issuer == ISSUER
    client.force_login(acme_admin)
    page = client.get("/manage/sso/").content.decode()
    assert ISSUER in page and "/accounts/oidc/company-acme/login/callback/" in page and "s3cret" not in page


def test_a_bad_form_is_shown_again_with_the_reason(client, acme_admin):
    client.force_login(acme_admin)
    page = client.post(
        "/manage/sso/",
        {"issuer": "https://id.acme.test", "client_id": "c", "secret": "x", "email_domains": "bad_domain"},
    )
    assert page.status_code == 400
    assert "Not an email domain: bad_domain." in page.content.decode()
    assert not SocialApp.objects.exists()


def test_an_email_without_sign_on_gets_the_sign_in_page_back(client):
    page = client.post("/accounts/sso/", {"email": "someone@nowhere.test"})
    assert page.status_code == 400
    assert "No single sign-on is set up for that address" in page.content.decode()
    assert client.get("/accounts/sso/").status_code == 405


# Who the adapter lets in (the provider's answer as allauth hands it over).


def provider_answer(sign_on, email, *, verified=True, user=None):
    account = SocialAccount(provider=sign_on.app.provider_id, uid=f"idp-{email}")
    if user is not None:
        account.user = user
        account.save()
    login = SocialLogin(account=account, email_addresses=[EmailAddress(email=email, verified=verified, primary=True)])
    login.user = user or UserFactory.build(company=None, email=email, username="")
    login.user.email = email
    return login


def refused(sociallogin) -> str:
    request = RequestFactory().get("/accounts/oidc/x/login/callback/")
    with pytest.raises(ImmediateHttpResponse) as stopped:
        CompanySocialAccountAdapter().pre_social_login(request, sociallogin)
    assert stopped.value.response.status_code == 403
    return stopped.value.response.content.decode()


def test_an_account_linked_to_another_company_is_refused(acme_admin, other_company):
    sign_on = set_up(acme_admin)
    outsider = UserFactory(company=other_company, email="nina@acme.test")
    assert "belongs to another company" in refused(provider_answer(sign_on, "nina@acme.test", user=outsider))


def test_a_colleague_of_another_company_with_the_same_email_is_not_taken_over(acme_admin, other_company):
    sign_on = set_up(acme_admin)
    UserFactory(company=other_company, email="nina@acme.test")
    login = provider_answer(sign_on, "nina@acme.test")
    CompanySocialAccountAdapter().pre_social_login(RequestFactory().get("/"), login)
    assert not login.is_existing  # a new person of acme, not globex's nina


def test_unverified_and_foreign_addresses_are_refused(acme_admin):
    sign_on = set_up(acme_admin)
    assert "did not confirm" in refused(provider_answer(sign_on, "nina@acme.test", verified=False))
    assert "signs in people at acme.test" in refused(provider_answer(sign_on, "nina@evil.test"))


def test_changes_are_announced_for_the_audit_log_without_the_secret(acme_admin):
    from sso.domain import sign_on_changed

    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    sign_on_changed.connect(listen)
    try:
        set_up(acme_admin)
        services.sign_on_delete(actor=acme_admin)
    finally:
        sign_on_changed.disconnect(listen)
    assert [event["action"] for event in heard] == ["sso.updated", "sso.deleted"]
    assert heard[0]["detail"]["email_domains"] == ["acme.test"] and "s3cret" not in str(heard)
    assert heard[0]["actor"] == acme_admin and heard[0]["company"] == acme_admin.company


def test_the_console_audit_log_records_sign_on_changes(acme_admin):
    from console.models import AuditEvent

    set_up(acme_admin)
    services.sign_on_delete(actor=acme_admin)
    rows = list(AuditEvent.objects.filter(company=acme_admin.company, action__startswith="sso.").order_by("id"))
    assert [(r.action, r.actor_id) for r in rows] == [("sso.updated", acme_admin.id), ("sso.deleted", acme_admin.id)]
    assert rows[0].detail["issuer"] and "s3cret" not in str([r.detail for r in rows])
