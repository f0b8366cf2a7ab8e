"""Request-reply over direct HTTP and over messaging."""

import numpy as np
import pytest

from sim.model import simulate
from sim.run import run


def rpc(scenario, transport, **fields):
    return scenario(
        workload__arrivals={"kind": "constant", "rate_per_s": 0.1},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.05},
            "concurrency": 2,
            **fields.pop("subscriber", {}),
        },
        strategies=[
            {
                "name": "r",
                "kind": "request_reply",
                "transport": transport,
                "concurrency": 4,
                "reply_bytes": 300,
                **{"timeout_s": 5.0, **fields},
            }
        ],
    )


def test_an_http_request_comes_back_after_two_hops_and_the_handling(scenario):
    s = rpc(scenario, "http")
    outcome = simulate(s, "r", 0)
    np.testing.assert_allclose(outcome.round_trip_s, 0.01 + 0.05 + 0.01, atol=1e-9)
    m = run(s, "r").metrics
    # one instance answers each request: one delivery, one exchange
    assert m["deliveries"] == m["events_published"]
    assert m["requests_per_event"] == 1
    assert m["bytes_per_event"] == 1000 + 300 + 200 + 300


def test_messaging_goes_through_the_broker_both_ways(scenario):
    s = rpc(scenario, "messaging", dispatch_delay_s=0.02)
    outcome = simulate(s, "r", 0)
    # caller -> broker -> instance, handling, reply -> broker -> caller
    np.testing.assert_allclose(
        outcome.round_trip_s, 4 * 0.01 + 0.05 + 2 * 0.02, atol=1e-9
    )
    m = run(s, "r").metrics
    assert m["requests_per_event"] == 4
    assert m["requests_publisher_broker"] == 2 * m["events_published"]
    assert m["requests_broker_subscribers"] == 2 * m["events_published"]


def test_requests_go_round_robin_to_the_instances(scenario):
    s = rpc(
        scenario,
        "http",
        timeout_s=60.0,
        subscriber={
            "concurrency": 1,
            "service_time_s": {"kind": "fixed", "value": 25.0},
        },
    )
    # one worker per instance, 25 s per request, a request every 10 s: three
    # instances in turn keep up (each gets one every 30 s)
    m = run(s, "r").metrics
    assert m["latency_max_s"] == pytest.approx(0.01)
    assert m["round_trip_mean_s"] == pytest.approx(0.01 + 25 + 0.01)


def test_failed_requests_are_retried_under_the_policy(scenario):
    s = rpc(
        scenario,
        "http",
        subscriber={"faults": {"error_5xx_probability": 0.3}},
        retry={"kind": "fixed", "delay_s": 1.0, "max_attempts": 20},
    )
    m = run(s, "r").metrics
    assert m["http_5xx"] > 0 and m["retries"] == m["http_5xx"]
    assert m["undelivered"] == 0
    assert m["round_trip_p99_s"] > 1.0


def test_other_strategies_have_no_round_trip(scenario):
    m = run(scenario(), "fanout").metrics
    assert np.isnan(m["round_trip_mean_s"])


def test_a_caller_that_gives_up_gets_no_reply(scenario):
    s = rpc(
        scenario,
        "http",
        timeout_s=1.0,
        subscriber={"service_time_s": {"kind": "fixed", "value": 3.0}},
    )
    m = run(s, "r").metrics
    # the instance still handles each request; the caller has stopped waiting
    assert m["timeouts"] == m["events_published"] == m["deliveries"]
    assert np.isnan(m["round_trip_mean_s"])
