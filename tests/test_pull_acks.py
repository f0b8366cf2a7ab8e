"""Polled sources that want acknowledgements and hide what they hand out."""

import pytest

from sim.run import run


def queue(scenario, subscriber=None, **strategy):
    return scenario(
        simulation={"duration_s": 3000.0, "seed": 13, "replications": 1},
        workload__subscribers=2,
        workload__arrivals={"kind": "poisson", "rate_per_s": 0.5},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.05},
            "concurrency": 2,
            **(subscriber or {}),
        },
        strategies=[{"name": "q", "kind": "long_poll", "wait_s": 20.0, **strategy}],
    )


def test_acknowledging_each_event_costs_a_request_per_event(scenario):
    plain = run(queue(scenario), "q").metrics
    acked = run(queue(scenario, ack="per_event"), "q").metrics
    # a long poll still held when the run stops is a request, not yet a
    # poll: at most one per consumer
    held = plain["requests_total"] - plain["polls"]
    assert 0 <= held <= 2
    assert acked["requests_total"] - acked["polls"] - acked["deliveries"] in (0, 1, 2)


def test_acknowledging_a_batch_costs_one_request_per_answer_with_events(scenario):
    m = run(queue(scenario, ack="per_batch", visibility_timeout_s=30.0), "q").metrics
    answers_with_events = m["polls"] - m["empty_polls"]
    # polls reaching the publisher just before the window closes are answered
    # (and acknowledged) after it, so allow one per consumer
    assert m["requests_total"] - m["polls"] == pytest.approx(answers_with_events, abs=2)
    assert m["redeliveries"] == m["duplicates"] == 0


def test_handling_longer_than_the_visibility_timeout_delivers_twice(scenario):
    slow = {"service_time_s": {"kind": "fixed", "value": 40.0}, "concurrency": 50}
    m = run(
        queue(
            scenario,
            slow,
            ack="per_event",
            visibility_timeout_s=30.0,
            max_batch=50,
            prefetch=100,
        ),
        "q",
    ).metrics
    # every event is still being handled when it becomes visible again at
    # 30 s, so each is handed out and handled a second time
    assert m["redeliveries"] == m["deliveries"]
    # the run stops once the window's events are handled; second handlings
    # still going on then (those of the last 40 s, at 0.5 events/s for two
    # subscribers) are not seen
    assert m["deliveries"] - 40 <= m["duplicates"] <= m["deliveries"]
    assert m["undelivered"] == 0


def test_lost_acknowledgements_redeliver_and_an_idempotent_consumer_skips(scenario):
    lossy = {"faults": {"ack_loss_probability": 0.2}, "idempotent": True}
    m = run(
        queue(scenario, lossy, ack="per_event", visibility_timeout_s=30.0), "q"
    ).metrics
    assert m["redeliveries"] > 0
    # each redelivered event is a duplicate to its subscriber, answered from
    # the record; a lost acknowledgement of the duplicate redelivers it again
    assert m["duplicates"] == pytest.approx(m["redeliveries"], abs=2)
    assert m["undelivered"] == 0


def test_failed_handling_is_not_acknowledged_and_comes_back(scenario):
    failing = {"faults": {"error_5xx_probability": 0.3}}
    m = run(
        queue(scenario, failing, ack="per_batch", visibility_timeout_s=10.0), "q"
    ).metrics
    assert m["redeliveries"] > 0
    assert m["undelivered"] == 0
    assert m["latency_max_s"] > 10.0


def test_a_visibility_timeout_needs_acknowledgements(scenario):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="visibility_timeout_s needs ack"):
        queue(scenario, visibility_timeout_s=30.0)


def test_sqs_and_service_bus_presets_acknowledge_and_hide():
    from sim.scenario import LongPoll

    sqs = LongPoll.model_validate(
        {"name": "s", "kind": "long_poll", "preset": "sqs_long_poll"}
    )
    assert (sqs.ack, sqs.visibility_timeout_s, sqs.wait_s) == ("per_batch", 30.0, 20.0)
    bus = LongPoll.model_validate(
        {"name": "b", "kind": "long_poll", "preset": "service_bus"}
    )
    assert (bus.ack, bus.visibility_timeout_s) == ("per_event", 60.0)
