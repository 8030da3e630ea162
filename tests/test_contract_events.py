"""The contract check of emitted events itself: it refuses what the contract does not allow."""

from tests.contract_events import CONTRACT_EVENTS, contract_violations


def test_a_well_formed_event_passes():
    data = {"id": 1, "conversation": 2, "body": "hi", "body_html": "<p>hi</p>", "mentions": [], "reply_count": 0}
    event = {"type": "message.created", "data": data, "conversation": 2, "rev": 3}
    assert contract_violations(event) == []


def test_unknown_types_missing_keys_and_missing_revs_are_refused():
    assert contract_violations({"type": "message.exploded", "data": {}}) == [
        "'message.exploded' is not an event of the contract"
    ]
    assert contract_violations({"type": "typing", "data": {"conversation": 1}}) == [
        "typing: data lacks ['state', 'user']"
    ]
    problems = contract_violations({"type": "message.deleted", "data": {"id": 1, "conversation": 2}})
    assert problems == ["message.deleted: a durable event carries `conversation` and `rev`"]


def test_every_call_and_teleport_event_of_the_contract_is_listed():
    for kind in ("invited", "accepted", "declined", "cancelled", "missed", "ended"):
        assert f"call.{kind}" in CONTRACT_EVENTS
    for kind in ("invited", "accepted", "declined", "expired"):
        assert f"teleport.{kind}" in CONTRACT_EVENTS
