"""Shared queues, prefetch, adaptive polling, false empties and outages for
polling consumers."""

import math

import numpy as np
import pytest

from sim.model import simulate
from sim.run import run

Z = 4.4


def pollers(scenario, strategy, rate=0.5, subscribers=3, duration=20_000.0, **extra):
    return scenario(
        simulation={
            "duration_s": duration,
            "warmup_s": 100.0,
            "seed": 21,
            "replications": 1,
        },
        workload__subscribers=subscribers,
        workload__arrivals={"kind": "poisson", "rate_per_s": rate},
        network__latency_s={"kind": "fixed", "value": 0.0},
        strategies=[{"name": "p", **strategy}],
        **extra,
    )


@pytest.mark.parametrize("kind", ["short_poll", "long_poll"])
def test_a_shared_queue_delivers_each_event_once(scenario, kind):
    fields = {"interval_s": 2.0} if kind == "short_poll" else {"wait_s": 20.0}
    s = pollers(
        scenario, {"kind": kind, "shared_queue": True, **fields}, duration=2000.0
    )
    m = run(s, "p").metrics
    assert m["deliveries"] == m["events_published"] > 0
    assert m["undelivered"] == 0


def test_competing_consumers_wait_for_the_next_poll_of_any_of_them(scenario):
    from sim.model.streams import name_key, stream

    n, interval = 4, 10.0
    s = pollers(
        scenario,
        {
            "kind": "short_poll",
            "interval_s": interval,
            "shared_queue": True,
            "max_batch": 1000,
        },
        rate=0.05,
        subscribers=n,
        duration=400_000.0,
    )
    samples = simulate(s, "p", 0).latency_s

    # Given the consumers' phases, the polls cut the interval into gaps g; a
    # Poisson event waits uniformly within its gap, so the mean wait is
    # sum(g^2) / 2T with variance sum(g^3) / 3T - mean^2. (Averaged over
    # random phases this is T / (N + 1); the validation checks that.)
    phases = np.sort(stream(21, 0, "phase", name_key("p")).uniform(0, interval, n))
    gaps = np.diff(np.append(phases, phases[0] + interval))
    mean = (gaps**2).sum() / (2 * interval)
    var = (gaps**3).sum() / (3 * interval) - mean**2
    assert samples.size > 10_000
    assert abs(samples.mean() - mean) < Z * math.sqrt(var / samples.size)


def test_prefetch_lets_a_consumer_poll_while_events_wait_for_workers(scenario):
    base = {"kind": "long_poll", "wait_s": 20.0, "max_batch": 5}
    sub = {"service_time_s": {"kind": "fixed", "value": 0.5}, "concurrency": 1}
    slow = pollers(
        scenario, base, rate=1.5, subscribers=1, duration=2000.0, subscriber=sub
    )
    eager = pollers(
        scenario,
        {**base, "prefetch": 20},
        rate=1.5,
        subscribers=1,
        duration=2000.0,
        subscriber=sub,
    )
    # with prefetch the consumer asks as soon as it has room, so more, smaller
    # polls; either way the one worker (2 events/s) keeps up with 1.5/s
    a, b = run(slow, "p").metrics, run(eager, "p").metrics
    assert b["polls"] > a["polls"]
    assert a["undelivered"] == b["undelivered"] == 0


def test_adaptive_polling_backs_off_when_idle_and_resets_on_an_event(scenario):
    fixed = {"kind": "short_poll", "interval_s": 1.0, "max_batch": 100}
    adaptive = {**fixed, "backoff": {"max_interval_s": 64.0, "multiplier": 2.0}}
    rare = dict(rate=0.002, subscribers=1, duration=50_000.0)
    a, b = (run(pollers(scenario, x, **rare), "p").metrics for x in (fixed, adaptive))
    # idle, the adaptive poller reaches 64 s between polls
    assert b["polls"] < a["polls"] / 30
    assert b["latency_mean_s"] > a["latency_mean_s"]
    # and the wait never exceeds the cap
    assert b["latency_max_s"] <= 64.0 + 1e-9


@pytest.mark.parametrize("jitter", ["full", "equal"])
def test_jittered_backoff_still_delivers_everything(scenario, jitter):
    s = pollers(
        scenario,
        {
            "kind": "short_poll",
            "interval_s": 1.0,
            "backoff": {"max_interval_s": 30.0, "jitter": jitter},
        },
        rate=0.05,
        duration=5000.0,
    )
    m = run(s, "p").metrics
    assert m["undelivered"] == 0 and m["latency_max_s"] <= 30.0 + 1e-9


def test_false_empty_answers_raise_the_empty_fraction(scenario):
    p_false = 0.3
    strategy = {"kind": "short_poll", "interval_s": 2.0, "max_batch": 1000}
    rate = 0.5
    honest = run(pollers(scenario, strategy, rate=rate, subscribers=1), "p").metrics
    sqs = run(
        pollers(
            scenario,
            {**strategy, "false_empty_probability": p_false},
            rate=rate,
            subscribers=1,
        ),
        "p",
    ).metrics
    # a poll is empty if nothing waits, or if something waits and it is
    # falsely empty; once falsely empty, the backlog is still there next time
    assert sqs["empty_poll_fraction"] > honest["empty_poll_fraction"]
    assert sqs["undelivered"] == 0
    assert sqs["latency_mean_s"] > honest["latency_mean_s"]


def test_consumers_do_not_poll_while_their_subscriber_is_down(scenario):
    outage = {"outages": [{"start_s": 1000.0, "duration_s": 500.0}]}
    sub = {
        "service_time_s": {"kind": "fixed", "value": 0.0},
        "concurrency": 1,
        "faults": outage,
    }
    for strategy in (
        {"kind": "short_poll", "interval_s": 1.0},
        {"kind": "long_poll", "wait_s": 20.0},
    ):
        up = run(
            pollers(scenario, strategy, rate=0.0001, subscribers=1, duration=3000.0),
            "p",
        ).metrics
        down = run(
            pollers(
                scenario,
                strategy,
                rate=0.0001,
                subscribers=1,
                duration=3000.0,
                subscriber=sub,
            ),
            "p",
        ).metrics
        lost = up["requests_total"] - down["requests_total"]
        per_s = 1.0 if strategy["kind"] == "short_poll" else 1 / 20
        assert lost == pytest.approx(500 * per_s, abs=2)


def test_events_published_during_an_outage_wait_for_the_poller(scenario):
    sub = {
        "service_time_s": {"kind": "fixed", "value": 0.0},
        "concurrency": 1,
        "faults": {"outages": [{"start_s": 1000.0, "duration_s": 500.0}]},
    }
    s = pollers(
        scenario,
        {"kind": "long_poll", "wait_s": 20.0},
        rate=0.1,
        subscribers=1,
        duration=3000.0,
        subscriber=sub,
    )
    lat = simulate(s, "p", 0).latency_s
    assert not np.isnan(lat).any()
    assert lat.max() == pytest.approx(500, abs=20)
