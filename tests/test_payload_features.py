"""Envelope bytes, filtering, claim-check and sidecars."""

import json

import numpy as np
import pytest

from sim.model import simulate
from sim.model.envelope_bytes import (
    ESCAPE_GROWTH,
    KINDS,
    fixed_overhead_bytes,
    wire_bytes,
)
from sim.run import run


def test_pubsub_grows_the_payload_by_base64():
    n = np.array([0, 1, 2, 3, 999, 1000])
    fixed = fixed_overhead_bytes("pubsub")
    np.testing.assert_array_equal(wire_bytes("pubsub", n) - fixed, 4 * np.ceil(n / 3))


def test_sns_escapes_a_json_payload_into_its_message_string():
    document = json.dumps({"id": "a", "amount": 1.5, "items": [{"sku": "x"}]})
    escaped = len(json.dumps(document)) - 2
    assert 0.05 < ESCAPE_GROWTH < 0.5
    # the growth is a property of JSON text of this shape, not of its size
    assert escaped / len(document) - 1 == pytest.approx(ESCAPE_GROWTH, abs=0.15)
    assert wire_bytes("sns", np.array([10_000]))[0] == (
        fixed_overhead_bytes("sns") + int(np.ceil(10_000 * (1 + ESCAPE_GROWTH)))
    )


def test_every_envelope_costs_more_than_the_bare_payload():
    for kind in KINDS:
        assert (fixed_overhead_bytes(kind) > 0) == (kind != "none")
    # SNS signs every message: its envelope is the largest
    assert max(KINDS, key=fixed_overhead_bytes) == "sns"


def test_envelope_bytes_reach_the_links(scenario):
    bare = scenario(
        strategies=[
            {"name": "b", "kind": "broker", "push_concurrency": 2, "timeout_s": 10.0}
        ]
    )
    wrapped = scenario(
        strategies=[
            {
                "name": "b",
                "kind": "broker",
                "push_concurrency": 2,
                "timeout_s": 10.0,
                "envelope": "pubsub",
            }
        ]
    )
    a, b = run(bare, "b").metrics, run(wrapped, "b").metrics
    pushes = a["events_published"] * 3
    growth = fixed_overhead_bytes("pubsub") + 4 * np.ceil(1000 / 3) - 1000
    assert (
        b["bytes_broker_subscribers"] - a["bytes_broker_subscribers"] == pushes * growth
    )


def test_filtering_brokers_push_only_what_is_wanted(scenario):
    s = scenario(
        simulation={"duration_s": 2000.0, "seed": 3},
        workload__event_types=10,
        workload__wanted_fraction=0.3,
    )
    outcome = simulate(s, "broker", 0)
    m = run(s, "broker").metrics
    wanted = int(outcome.wanted.sum())
    # each subscriber wants 3 of 10 types
    assert wanted == pytest.approx(0.3 * m["events_published"] * 3, rel=0.2)
    assert m["deliveries"] == wanted and m["undelivered"] == 0
    assert m["requests_total"] == m["events_published"] + wanted


def test_filtering_pollers_fetch_everything_and_discard(scenario):
    every = scenario(simulation={"duration_s": 2000.0, "seed": 3})
    some = scenario(
        simulation={"duration_s": 2000.0, "seed": 3},
        workload__event_types=10,
        workload__wanted_fraction=0.3,
    )
    a, b = run(every, "poll").metrics, run(some, "poll").metrics
    # same polls and bytes: the filter costs a poller nothing and saves nothing
    assert a["bytes_total"] == b["bytes_total"] and a["polls"] == b["polls"]
    assert b["deliveries"] < 0.5 * a["deliveries"]
    assert b["undelivered"] == 0


def test_a_shared_queue_cannot_filter(scenario):
    from sim.errors import ScenarioError  # noqa: F401
    from pydantic import ValidationError

    with pytest.raises(
        ValidationError, match="hand each event to one subscriber of many"
    ):
        scenario(
            workload__event_types=4,
            workload__wanted_fraction=0.5,
            strategies=[
                {"name": "q", "kind": "long_poll", "wait_s": 20.0, "shared_queue": True}
            ],
        )


def test_claim_check_moves_large_payloads_through_storage(scenario):
    claimed = scenario(
        workload__payload_bytes={"kind": "fixed", "value": 500_000.0},
        claim_check={"threshold_bytes": 262_144, "reference_bytes": 200},
        network__latency_s={"kind": "fixed", "value": 0.01},
    )
    m = run(claimed, "fanout").metrics
    events = m["events_published"]
    # one PUT per event, one GET per delivery, each carrying the payload once
    framing = 300 + 200
    assert m["bytes_storage"] == (events + m["deliveries"]) * (500_000 + framing)
    assert m["bytes_publisher_subscribers"] == m["deliveries"] * (200 + framing)
    assert m["requests_total"] == events + 2 * m["deliveries"]
    # the PUT round trip, the push, and the GET round trip: five hops
    lat = simulate(claimed, "fanout", 0).latency_s
    np.testing.assert_allclose(lat, 0.05, atol=1e-9)


def test_small_payloads_skip_the_claim_check(scenario):
    s = scenario(claim_check={"threshold_bytes": 262_144})
    m = run(s, "fanout").metrics
    assert m["bytes_storage"] == 0 and m["cpu_s_storage"] == 0


def test_sidecars_add_latency_and_cpu_per_proxy(scenario):
    s = scenario(
        workload__arrivals={"kind": "constant", "rate_per_s": 0.1},
        sidecar={
            "latency_s": {"kind": "fixed", "value": 0.001},
            "cpu_s_per_request": 1e-4,
        },
    )
    # direct calls pass two proxies, a broker's legs one each
    np.testing.assert_allclose(simulate(s, "fanout", 0).latency_s, 0.012, atol=1e-9)
    np.testing.assert_allclose(simulate(s, "broker", 0).latency_s, 0.022, atol=1e-9)
    fan, brk = run(s, "fanout").metrics, run(s, "broker").metrics
    assert fan["cpu_s_sidecars"] == pytest.approx(fan["requests_total"] * 2e-4)
    assert brk["cpu_s_sidecars"] == pytest.approx(brk["requests_total"] * 1e-4)


def test_a_sidecar_that_owns_retries_spares_the_sender(scenario):
    def publisher_cpu(owns):
        s = scenario(
            workload__subscribers=1,
            subscriber={
                "service_time_s": {"kind": "fixed", "value": 0.0},
                "concurrency": 1,
                "faults": {"error_5xx_probability": 0.5},
            },
            sidecar={
                "latency_s": {"kind": "fixed", "value": 0.0},
                "cpu_s_per_request": 0.0,
                "owns_retries": owns,
            },
            strategies=[
                {
                    "name": "f",
                    "kind": "fanout",
                    "concurrency": 4,
                    "timeout_s": 5.0,
                    "retry": {"kind": "fixed", "delay_s": 1.0, "max_attempts": 50},
                }
            ],
        )
        return run(s, "f").metrics

    app, proxy = publisher_cpu(False), publisher_cpu(True)
    assert app["retries"] == proxy["retries"] > 0
    moved = app["cpu_s_publisher"] - proxy["cpu_s_publisher"]
    assert moved == pytest.approx(proxy["cpu_s_sidecars"])
    # retries are counted when decided, their requests when they arrive: a
    # retry decided just before the window closes may arrive after it
    assert moved == pytest.approx(proxy["retries"] * 5e-5, abs=5e-5)


@pytest.mark.parametrize(
    "kind,expected_format",
    [
        ("cloudevents_structured", "cloudevents"),
        ("cloudevents_binary", "cloudevents"),
        ("eventgrid", "eventgrid"),
        ("sns", "sns"),
        ("pubsub", "pubsub"),
        ("eventbridge", "eventbridge"),
    ],
)
def test_each_modelled_envelope_is_one_the_envelope_library_accepts(
    kind, expected_format
):
    from sim.envelopes import Batch, parse
    from sim.model.envelope_bytes import example

    payload = json.dumps({"order": 118024, "items": [{"sku": "A-1", "qty": 2}]})
    body, headers = example(kind, payload.encode())
    parsed = parse(body, headers)
    envelope = parsed[0] if isinstance(parsed, Batch) else parsed
    assert envelope.format == expected_format
    # the payload comes back as it went in, whatever the envelope did to it
    assert json.loads(envelope.data.bytes()) == json.loads(payload)


@pytest.mark.parametrize(
    "kind", ["cloudevents_structured", "eventgrid", "eventbridge", "pubsub"]
)
def test_modelled_sizes_match_real_envelopes(kind):
    from sim.model.envelope_bytes import example

    payload = json.dumps([{"id": i, "name": f"item-{i}"} for i in range(40)]).encode()
    body, _ = example(kind, payload)
    assert wire_bytes(kind, np.array([len(payload)]))[0] == len(body)
