"""Many messages published at once (a group message's notifications, one per member's user group) cross
to the other processes as one bundle to every hub; each hub delivers the items of groups it has sockets in,
in order, and skips its own bundle when the layer brings it back."""

import asyncio

import pytest

from tests.realtime.sockets import close_all, collect, connect, types
from virtual_office.realtime import current_hub, envelope
from virtual_office.realtime.frames import ALL_HUBS, BUNDLE, FORWARD, user_group

pytestmark = pytest.mark.django_db(transaction=True)


def forward(group: str, n: int) -> dict:
    return {"type": FORWARD, "group": group, "event": envelope("test.event", {"n": n})}


@pytest.fixture
async def spied_hub(alice, monkeypatch):
    """alice's socket (so the hub runs), the hub, and what it hands to the layer."""
    socket = await connect(alice)
    hub = current_hub()
    sent: list[tuple[str, dict]] = []
    real = hub.layer.group_send

    async def spy(group: str, message: dict) -> None:
        sent.append((group, message))
        await real(group, message)

    monkeypatch.setattr(hub.layer, "group_send", spy)
    yield socket, hub, sent
    await close_all(socket)


async def drained(hub) -> None:
    for _ in range(200):
        if hub.outbox.empty():
            await asyncio.sleep(0.05)  # the last group_send has returned
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the hub's outbox did not drain")


async def test_a_burst_crosses_as_one_bundle_and_a_few_go_one_by_one(spied_hub, settings):
    socket, hub, sent = spied_hub
    burst = [forward(f"user.{900000 + i}", i) for i in range(30)]
    for message in burst:
        hub.publish(message["group"], message)
    await drained(hub)
    assert [group for group, _ in sent] == [ALL_HUBS]
    bundle = sent[0][1]
    assert bundle["type"] == BUNDLE and bundle["origin"] == hub.server_id
    assert [item["event"]["data"]["n"] for item in bundle["items"]] == list(range(30))  # in publish order

    sent.clear()
    for message in burst[:3]:  # fewer than HUB_BUNDLE_MIN: each to its own group
        hub.publish(message["group"], message)
    await drained(hub)
    assert [group for group, _ in sent] == [m["group"] for m in burst[:3]]


async def test_a_bundle_from_another_process_reaches_the_sockets_of_its_groups_only(spied_hub, alice, bob):
    socket, hub, _ = spied_hub
    bobs = await connect(bob)
    await collect(socket)
    await collect(bobs)
    items = [forward(user_group(alice.id), 1), forward("user.900001", 2), forward(user_group(alice.id), 3)]
    await hub.layer.group_send(ALL_HUBS, {"type": BUNDLE, "origin": "another-process", "items": items})
    frames = await collect(socket)
    assert [(f["type"], f["data"]["n"]) for f in frames] == [("test.event", 1), ("test.event", 3)]
    assert "test.event" not in types(await collect(bobs))
    # Its own bundle, back from the layer, is not delivered twice.
    for message in [forward(user_group(alice.id), n) for n in range(10)]:
        hub.publish(message["group"], message)
    frames = await collect(socket)
    assert [f["data"]["n"] for f in frames if f["type"] == "test.event"] == list(range(10))
    await close_all(bobs)


async def test_a_group_joined_while_maintenance_discards_others_keeps_its_socket(spied_hub, bob, monkeypatch):
    """The maintenance pass drops groups no socket needs; a socket subscribing to one of them while the
    pass awaits the discard of another keeps it (it used to lose its member set and hear nothing)."""
    socket, hub, _ = spied_hub
    hub.members["conversation.900001"] = set()
    hub.members["conversation.900002"] = set()
    bobs = await connect(bob)
    consumer = next(c for c in hub.consumers if c.user_id == bob.id)
    real_discard = hub.layer.group_discard

    async def discard(group: str, channel: str) -> None:
        if group == "conversation.900001":  # meanwhile, bob's socket joins the next group in the pass
            await consumer.join_group("conversation.900002")
        await real_discard(group, channel)

    monkeypatch.setattr(hub.layer, "group_discard", discard)
    await hub.drop_unused_groups()
    assert "conversation.900001" not in hub.members
    assert consumer in hub.members["conversation.900002"]
    hub.publish("conversation.900002", forward("conversation.900002", 7))
    frames = await collect(bobs)
    assert [f["data"]["n"] for f in frames if f["type"] == "test.event"] == [7]
    await close_all(bobs)
