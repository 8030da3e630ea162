"""The API docs (Swagger UI at /api/docs/, ReDoc at /api/redoc/) work with no internet: every request
to another origin is blocked, and a person still sees the operations."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def offline_page(browser, live_server_url: str):
    """A page that can reach only the test server: anything else is aborted and recorded."""
    context = browser.new_context(base_url=live_server_url)
    page = context.new_page()
    ours = urlsplit(live_server_url).netloc
    blocked: list[str] = []
    errors: list[str] = []

    def only_ours(route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != ours:
            blocked.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/*", only_ours)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, blocked, errors


def test_swagger_ui_renders_the_operations_offline(browser, live_server_url):
    context, page, blocked, errors = offline_page(browser, live_server_url)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Virtual Office API")
    operation = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/api/v1/me/"))
    expect(operation.first).to_be_visible()
    expect(page.locator(".opblock").nth(10)).to_be_visible()
    # Opening an operation shows its responses, from the schema the page loaded from our server.
    operation.first.locator(".opblock-summary").click()
    expect(operation.first.locator(".responses-wrapper")).to_be_visible()
    assert blocked == [], f"the docs asked other origins for {blocked}"
    assert errors == []
    context.close()


def test_redoc_renders_the_operations_offline(browser, live_server_url):
    context, page, blocked, errors = offline_page(browser, live_server_url)
    page.goto("/api/redoc/")
    expect(page.locator("h1", has_text="Virtual Office API")).to_be_visible()
    expect(page.get_by_text("/api/v1/conversations/", exact=False).first).to_be_attached()
    expect(page.locator("[data-section-id^='tag/']").first).to_be_visible()
    # ReDoc's own "API docs by Redocly" badge tries its logo from Redocly's CDN and, refused, drops
    # the image by itself (no broken picture): that is the only request it may try elsewhere.
    expect(page.locator('img[alt="redocly logo"]')).to_have_count(0)
    assert set(blocked) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}, f"the docs asked other origins for {blocked}"
    assert errors == []
    context.close()
