"""Fixtures of the console tests: an admin of each company and signed-in browser clients."""

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def other_admin(other_company):
    """Globex's admin: must get 404 for every Acme object in the console."""
    return UserFactory(company=other_company, username="globex-boss", display_name="Gus Globex", is_company_admin=True)


@pytest.fixture
def browser_for():
    def signed_in(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return signed_in
