"""Routing by glob patterns, batches of mixed formats and the fallback."""

from __future__ import annotations

import json

import pytest

from sim.envelopes import (
    CloudEvent,
    EventGridEvent,
    Router,
    Unrouted,
    parse,
)

BATCH = {"content-type": "application/cloudevents-batch+json"}


def batch(*types: str) -> bytes:
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": str(i),
                "source": "/shop",
                "type": t,
                f"ext{i}": i,
            }
            for i, t in enumerate(types)
        ]
    ).encode()


def test_first_matching_route_wins_and_elements_keep_their_fields():
    router = Router()
    seen = []
    router.add(
        lambda e: seen.append(("orders", e.id, e.extensions)) or "o",
        type="com.example.order.*",
    )
    router.add(lambda e: seen.append(("all", e.id, e.extensions)) or "a", type="*")
    results = router.dispatch(parse(batch("com.example.order.created", "other"), BATCH))
    assert results == ["o", "a"]
    assert seen == [("orders", "0", {"ext0": 0}), ("all", "1", {"ext1": 1})]


def test_unknown_types_reach_the_fallback():
    router = Router()
    router.add(lambda e: "known", type="known")
    router.set_fallback(lambda e: f"fallback:{e.type}")
    assert router.dispatch(parse(batch("known", "mystery"), BATCH)) == [
        "known",
        "fallback:mystery",
    ]


def test_without_fallback_nothing_runs_and_unrouted_is_raised():
    router = Router()
    calls = []
    router.add(calls.append, type="known")
    with pytest.raises(
        Unrouted,
        match=r"^cloudevents: at #/1: expected a route or "
        r"a fallback for type 'mystery' from source '/shop', got "
        r"neither \[router\.unrouted\]$",
    ):
        router.dispatch(parse(batch("known", "mystery"), BATCH))
    assert calls == []


def test_absent_field_matches_no_pattern_but_matches_a_route_on_other_fields():
    body = json.dumps(
        {
            "message": {"messageId": "1", "publishTime": "2024-01-01T00:00:00Z"},
            "subscription": "projects/p/subscriptions/s",
        }
    ).encode()
    push = parse(body)
    router = Router()
    router.add(lambda e: "by-type", type="*")
    router.add(lambda e: "by-format", format="pubsub")
    assert router.dispatch(push) == ["by-format"]


def test_routes_on_source_and_subject_and_format_together():
    grid = json.dumps(
        [
            {
                "id": "1",
                "topic": "/t/a",
                "subject": "/blobs/x.png",
                "eventType": "Blob.Created",
                "eventTime": "2024-01-01T00:00:00Z",
            }
        ]
    ).encode()
    router = Router()

    @router.on(format="eventgrid", source="/t/*", subject="*.png")
    def images(event):
        assert isinstance(event, EventGridEvent)
        return event.topic

    assert router.dispatch(parse(grid, {"aeg-event-type": "Notification"})) == ["/t/a"]


def test_add_refuses_unknown_or_missing_patterns():
    router = Router()
    with pytest.raises(TypeError, match=r"^patterns must name some of"):
        router.add(print, kind="x")
    with pytest.raises(TypeError, match=r"^patterns must name some of"):
        router.add(print)


def test_a_single_envelope_dispatches_like_a_batch_of_one():
    router = Router()
    router.set_fallback(lambda e: isinstance(e, CloudEvent))
    body = json.dumps(
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t"}
    ).encode()
    assert router.dispatch(parse(body)) == [True]
