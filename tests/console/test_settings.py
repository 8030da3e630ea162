"""Company settings: name, logo (type and size checked by content), default status policy."""

from datetime import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from console.models import AuditEvent, CompanySettings
from console.services import LOGO_MAX_BYTES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form(**overrides) -> dict:
    return {"name": "Acme Corp", "idle_minutes": "", "quiet_timezone": "UTC", **overrides}


def test_name_logo_and_status_policy_are_saved_and_audited(browser_for, admin_user, alice, company):
    client = browser_for(admin_user)
    logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    answer = client.post(
        "/manage/settings/",
        {
            **form(
                idle_minutes="15",
                quiet_enabled="on",
                quiet_timezone="Europe/Paris",
                quiet_start="19:00",
                quiet_end="08:00",
            ),
            "quiet_days": ["0", "2", "4"],
            "logo": logo,
        },
    )
    assert answer.status_code == 302
    company.refresh_from_db()
    row = CompanySettings.objects.get(company=company)
    assert company.name == "Acme Corp" and row.idle_minutes == 15
    assert (row.quiet_timezone, row.quiet_days, row.quiet_start, row.quiet_end) == (
        "Europe/Paris",
        [0, 2, 4],
        time(19),
        time(8),
    )
    [event] = AuditEvent.objects.filter(action="company.updated")
    assert event.detail["name"] == {"from": "Acme", "to": "Acme Corp"} and event.detail["logo"] == "replaced"
    # Every member sees the logo (the office can show it); another company's people do not get ours.
    served = browser_for(alice).get("/company/logo/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    stranger = UserFactory(company=UserFactory().company)
    assert browser_for(stranger).get("/company/logo/").status_code == 404
    page = client.get("/manage/settings/").content.decode()
    assert 'value="Europe/Paris"' in page and "/company/logo/" in page


@pytest.mark.parametrize(
    ("name", "content", "sentence"),
    [
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "must be a PNG"),
        ("logo.png", b"GIF89a" + b"\x00" * 10, None),  # a GIF named .png: taken as the GIF it is
        ("logo.png", b"not an image at all", "must be a PNG"),
        ("big.png", PNG + b"\x00" * LOGO_MAX_BYTES, "at most 512 KB"),
    ],
)
def test_logos_are_checked_by_content_and_size(browser_for, admin_user, company, name, content, sentence):
    client = browser_for(admin_user)
    page = client.post("/manage/settings/", {**form(), "logo": SimpleUploadedFile(name, content)}, follow=True)
    row = CompanySettings.objects.filter(company=company).first()
    if sentence is None:
        assert row is not None and row.logo.name.endswith(".gif")
    else:
        assert sentence in page.content.decode()
        assert row is None or not row.logo


def test_bad_quiet_hours_are_said_on_the_form(browser_for, admin_user, company):
    page = browser_for(admin_user).post(
        "/manage/settings/",
        form(quiet_enabled="on", quiet_timezone="Mars/Olympus", quiet_start="09:00", quiet_end="09:00"),
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "not a known time zone" in text and "Pick at least one day" in text and "must differ" in text
    assert not CompanySettings.objects.filter(company=company).exists()


def test_members_and_other_companies_cannot_change_settings(browser_for, alice, other_admin, company):
    assert browser_for(alice).post("/manage/settings/", form(name="Hacked")).status_code == 403
    browser_for(other_admin).post("/manage/settings/", form(name="Globex 2"))
    company.refresh_from_db()
    assert company.name == "Acme"  # other_admin renamed their own company only
    assert other_admin.company.__class__.objects.get(pk=other_admin.company_id).name == "Globex 2"


def test_people_list_queries_do_not_grow_with_people(browser_for, admin_user, company, django_assert_max_num_queries):
    for n in range(40):
        UserFactory(company=company, username=f"person{n}", is_active=n % 5 != 0)
    client = browser_for(admin_user)
    with django_assert_max_num_queries(12):
        page = client.get("/manage/people/").content.decode()
    assert page.count("data-person=") == 41
    with django_assert_max_num_queries(12):
        assert client.get("/manage/people/", {"q": "person1"}).content.decode().count("data-person=") == 11


def test_the_companys_idle_minutes_decide_when_its_people_turn_away(browser_for, admin_user, alice, company):
    from datetime import timedelta

    from django.utils import timezone

    from presence import services as presence_services
    from presence.models import Presence

    stranger = UserFactory(company=UserFactory().company)
    now = timezone.now()
    Presence.objects.filter(user__in=[alice, stranger]).update(
        connected=True, last_activity=now - timedelta(minutes=20), idle=False
    )
    # The server's default (10 min, tests: PRESENCE_IDLE_SECONDS) is not what decides any more.
    assert browser_for(admin_user).post("/manage/settings/", form(idle_minutes="30")).status_code == 302
    assert Presence.objects.get(user=alice).availability().status == "online"  # 20 min < 30 min
    assert Presence.objects.get(user=stranger).idle_seconds is None  # another company keeps the server's
    newcomer = UserFactory(company=company)
    assert Presence.objects.get(user=newcomer).idle_seconds == 30 * 60  # joiners get it too
    assert browser_for(admin_user).post("/manage/settings/", form(idle_minutes="15")).status_code == 302
    assert presence_services.presence_refresh(user_ids=[alice.id]) == [alice.id]  # announced as it turns
    alice_now = Presence.objects.get(user=alice)
    assert alice_now.idle and alice_now.availability().as_dict()["status_reason"] == "idle"
    # Back to the server's default.
    assert browser_for(admin_user).post("/manage/settings/", form(idle_minutes="")).status_code == 302
    assert Presence.objects.get(user=newcomer).idle_seconds is None
