"""The API docs pages load everything from this server (drf-spectacular-sidecar): no CDN, no web fonts."""

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_their_assets_from_this_server(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("/static/drf_spectacular_sidecar/" in url for url in assets)
    assert [url for url in assets if re.match(r"(https?:)?//", url)] == []
