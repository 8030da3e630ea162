"""Knocks over the socket: `space.knock` to the people inside (not under dnd, never to another
company), the answer to the knocker, and the sweeper's `knock.expired` without anyone asking."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from guardian.shortcuts import assign_perm

from presence.models import Presence
from spaces import services
from spaces.models import Knock
from tests.factories import CompanyFactory, SpaceFactory, UserFactory
from tests.realtime.sockets import close_all, collect, connect, hub_job_runs, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _setup():
    company, other = CompanyFactory(), CompanyFactory()
    alice, bob, carol = (UserFactory(company=company) for _ in range(3))
    mallory = UserFactory(company=other)
    vault = SpaceFactory(company=company, name="Vault", is_private=True)
    for person in (bob, carol):
        assign_perm("spaces.enter_space", person, vault)
        services.space_enter(actor=person, space=vault)
    theirs = SpaceFactory(company=other, name="Theirs")
    services.space_enter(actor=mallory, space=theirs)
    return alice, bob, carol, mallory, vault


async def test_knock_admit_and_who_hears_what():
    alice, bob, carol, mallory, vault = await database_sync_to_async(_setup)()
    sockets = {name: await connect(user) for name, user in [("a", alice), ("b", bob), ("c", carol), ("m", mallory)]}
    try:
        await database_sync_to_async(Presence.objects.filter(user=carol).update)(status="dnd")
        knock = await database_sync_to_async(services.knock_create)(actor=alice, space=vault, note="Got a sec?")
        frame = await wait_for(sockets["b"], "space.knock")
        assert frame["data"] | {"created_at": None, "expires_at": None} == {
            "knock": knock.id, "space": vault.id, "space_name": "Vault", "user": alice.id, "note": "Got a sec?",
            "created_at": None, "expires_at": None,
        }  # fmt: skip
        assert (await wait_for(sockets["c"], "notification.created"))["data"]["kind"] == "knock"
        assert "space.knock" not in [f["type"] for f in await collect(sockets["c"])]  # dnd: the notification only
        for name in ("a", "m"):
            assert not [f for f in await collect(sockets[name]) if f["type"] in ("space.knock", "notification.created")]
        await database_sync_to_async(services.knock_admit)(actor=bob, knock=knock)
        admitted = await wait_for(sockets["a"], "knock.admitted")
        assert admitted["data"]["id"] == knock.id and admitted["data"]["status"] == "admitted"
        assert (await wait_for(sockets["b"], "knock.admitted"))["data"]["answered_by"] == bob.id
        assert not [f for f in await collect(sockets["m"]) if f["type"].startswith("knock.")]
        presence = await database_sync_to_async(Presence.objects.get)(user=alice)
        assert presence.current_space_id == vault.id
    finally:
        await close_all(*sockets.values())


async def test_the_sweeper_announces_an_expired_knock_once():
    alice, bob, carol, mallory, vault = await database_sync_to_async(_setup)()
    ws_a, ws_b = await connect(alice), await connect(bob)
    try:
        knock = await database_sync_to_async(services.knock_create)(actor=alice, space=vault, note="")
        expiry = timezone.now() + timedelta(milliseconds=300)
        await database_sync_to_async(Knock.objects.filter(pk=knock.pk).update)(expires_at=expiry)
        for ws in (ws_a, ws_b):
            frame = await wait_for(ws, "knock.expired", timeout=4)
            assert frame["data"]["id"] == knock.id and frame["data"]["status"] == "expired"
            assert (timezone.now() - expiry).total_seconds() < 2.0
        await hub_job_runs("knock_sweeper", 2)
        assert not [f for f in await collect(ws_a) + await collect(ws_b) if f["type"] == "knock.expired"]
    finally:
        await close_all(ws_a, ws_b)
