"""The fast engine (empty polls counted in bulk) against the reference model
(one simulated event per poll): same counts, bytes, CPU and latencies."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import polling, simulate
from sim.model.engine import Sampler
from sim.model.skipping import fallback_reason
from sim.scenario import Exponential, LogNormal, Uniform

LOGNORMAL = {"kind": "lognormal", "median": 0.004, "sigma": 0.6}
EXPONENTIAL = {"kind": "exponential", "mean": 0.02}

SHORT = {"kind": "short_poll", "interval_s": 1.0, "max_batch": 10}
LONG = {"kind": "long_poll", "wait_s": 5.0, "max_batch": 10}

OUTAGES = {
    "outages": [{"start_s": 300.0, "duration_s": 95.5}],
    "mtbf_s": 400.0,
    "mttr_s": 30.0,
}
FLAKY = {"error_5xx_probability": 0.2, "ack_loss_probability": 0.1}

# (strategy, subscriber faults, network latency, other changes)
CASES = {
    "short": (SHORT, {}, LOGNORMAL, {}),
    "short aligned": ({**SHORT, "phase": "aligned"}, {}, EXPONENTIAL, {}),
    "short slow network": ({**SHORT, "interval_s": 0.03}, {}, EXPONENTIAL, {}),
    "short outages": (SHORT, OUTAGES, LOGNORMAL, {}),
    "short prefetch": ({**SHORT, "prefetch": 2, "max_batch": 2}, {}, LOGNORMAL, {}),
    "short shared": ({**SHORT, "shared_queue": True}, {}, LOGNORMAL, {}),
    "short shared fixed": ({**SHORT, "shared_queue": True}, {}, None, {}),
    "short shared fixed outages": (
        {**SHORT, "shared_queue": True},
        OUTAGES,
        None,
        {},
    ),
    "short fixed": (SHORT, {}, None, {}),
    "sqs short": (
        {"kind": "short_poll", "interval_s": 1.0, "preset": "sqs_short_poll"},
        FLAKY,
        LOGNORMAL,
        {},
    ),
    "sqs short false empties": (
        {
            "kind": "short_poll",
            "interval_s": 0.5,
            "preset": "sqs_short_poll",
            "false_empty_probability": 0.3,
            "shared_queue": True,
        },
        {},
        None,
        {},
    ),
    "short per-event acks, sidecars": (
        {**SHORT, "ack": "per_event", "visibility_timeout_s": 5.0},
        FLAKY,
        LOGNORMAL,
        {
            "sidecar": {
                "latency_s": {"kind": "uniform", "low": 0.0005, "high": 0.002},
                "cpu_s_per_request": 1e-5,
            }
        },
    ),
    "short backoff, full jitter": (
        {**SHORT, "backoff": {"max_interval_s": 8.0, "jitter": "full"}},
        {},
        LOGNORMAL,
        {},
    ),
    "short backoff, equal jitter, outages": (
        {**SHORT, "backoff": {"max_interval_s": 30.0, "jitter": "equal"}},
        OUTAGES,
        EXPONENTIAL,
        {},
    ),
    "short backoff fixed, shared, false empties": (
        {
            **SHORT,
            "backoff": {"max_interval_s": 4.0, "multiplier": 1.5, "jitter": "none"},
            "shared_queue": True,
            "false_empty_probability": 0.3,
        },
        {},
        None,
        {},
    ),
    "long": (LONG, {}, LOGNORMAL, {}),
    "long fixed": (LONG, {}, None, {}),
    "long outages": (LONG, OUTAGES, LOGNORMAL, {}),
    "long shared": ({**LONG, "shared_queue": True}, {}, LOGNORMAL, {}),
    "sqs long": (
        {"kind": "long_poll", "preset": "sqs_long_poll", "wait_s": 5.0},
        FLAKY,
        LOGNORMAL,
        {},
    ),
    "service bus": (
        {
            "kind": "long_poll",
            "preset": "service_bus",
            "shared_queue": True,
            "wait_s": 2.0,
        },
        {**FLAKY, **OUTAGES},
        EXPONENTIAL,
        {},
    ),
}


def make(scenario, engine, strategy, faults, latency, extra, rate=0.05):
    return scenario(
        simulation={
            "duration_s": 2000.0,
            "warmup_s": 150.0,
            "seed": 5,
            "replications": 1,
            "engine": engine,
        },
        workload__subscribers=4,
        workload__arrivals={"kind": "poisson", "rate_per_s": rate},
        network__latency_s=latency or {"kind": "fixed", "value": 0.004},
        subscriber={
            "service_time_s": {"kind": "exponential", "mean": 0.5},
            "concurrency": 1,
            "faults": faults,
        },
        strategies=[{"name": "p", **strategy}],
        **extra,
    )


def assert_same(fast, reference):
    assert fast.engine == "fast" and reference.engine == "reference"
    assert fast.counts == reference.counts
    assert fast.bytes == reference.bytes
    assert fast.events_published == reference.events_published
    for role, cpu_s in reference.cpu_s.items():
        assert fast.cpu_s[role] == pytest.approx(cpu_s, rel=1e-9, abs=1e-12), role
    # the same deliveries, at the same instants up to rounding
    np.testing.assert_array_equal(
        np.isnan(fast.latency_s), np.isnan(reference.latency_s)
    )
    np.testing.assert_allclose(
        fast.latency_s, reference.latency_s, rtol=0, atol=1e-9, equal_nan=True
    )
    np.testing.assert_allclose(fast.censored_s, reference.censored_s, atol=1e-9)
    assert fast.stopped_at_s == pytest.approx(reference.stopped_at_s, abs=1e-9)


@pytest.mark.parametrize("case", list(CASES))
def test_both_engines_give_the_same_results(scenario, case):
    strategy, faults, _, _ = CASES[case]
    fast = simulate(make(scenario, "fast", *CASES[case]), "p", 0)
    reference = simulate(make(scenario, "reference", *CASES[case]), "p", 0)
    assert_same(fast, reference)
    # the case exercises what it is meant to: mostly empty polls
    assert reference.counts["empty_polls"] > reference.counts["polls"] / 2
    if faults.get("error_5xx_probability"):
        assert reference.counts["redeliveries"] > 0 or strategy.get("ack") is None


@pytest.mark.parametrize(
    "case", ["short", "long outages", "sqs long", "short backoff, full jitter"]
)
def test_busy_sources_give_the_same_results(scenario, case):
    # events every few polls: consumers park and wake all the time
    fast = simulate(make(scenario, "fast", *CASES[case], rate=2.0), "p", 0)
    reference = simulate(make(scenario, "reference", *CASES[case], rate=2.0), "p", 0)
    assert_same(fast, reference)


@pytest.mark.parametrize(
    "case", ["short", "short shared fixed", "long", "short backoff, full jitter"]
)
def test_the_fast_engine_does_not_simulate_empty_polls(scenario, case, monkeypatch):
    calls = {"n": 0}
    tick = polling.ShortPollConsumer._tick
    poll = polling.LongPollConsumer._poll_when_up

    def counted(method):
        def wrapper(self):
            calls["n"] += 1
            return method(self)

        return wrapper

    monkeypatch.setattr(polling.ShortPollConsumer, "_tick", counted(tick))
    monkeypatch.setattr(polling.LongPollConsumer, "_poll_when_up", counted(poll))
    outcomes = {}
    for engine in ("fast", "reference"):
        calls["n"] = 0
        s = make(scenario, engine, *CASES[case], rate=0.01)
        outcomes[engine] = simulate(s, "p", 0)
        outcomes[engine + " calls"] = calls["n"]
    polls = outcomes["reference"].counts["polls"]
    events = outcomes["reference"].events_published
    # the reference model steps through every poll; the fast engine only
    # through those near an event (a few per event and consumer)
    assert outcomes["reference calls"] >= polls
    assert outcomes["fast calls"] <= 4 * (events + 1) * 4 + 8
    assert outcomes["fast calls"] < polls / 5


def test_claim_checks_and_tied_fleets_fall_back_and_say_why(scenario):
    claim = {"claim_check": {"threshold_bytes": 0}}
    s = make(scenario, "fast", SHORT, {}, LOGNORMAL, claim)
    assert "claim-check" in fallback_reason(s, s.strategy("p"))
    assert simulate(s, "p", 0).engine == "reference"
    s = make(scenario, "reference", SHORT, {}, LOGNORMAL, {})
    assert simulate(s, "p", 0).fallback == "simulation.engine is 'reference'"
    # competing consumers whose polls arrive together: the queue's order
    # picks the winner, so the reference model runs
    tied = {**SHORT, "phase": "aligned", "shared_queue": True}
    s = make(scenario, "fast", tied, {}, None, {})
    assert "same instants" in simulate(s, "p", 0).fallback
    s = make(scenario, "fast", tied, {}, LOGNORMAL, {})
    assert simulate(s, "p", 0).engine == "fast"
    # competing long polls sent again together when a common outage ends
    shared_long = {**LONG, "shared_queue": True}
    outage = {"outages": [{"start_s": 300.0, "duration_s": 50.0}]}
    s = make(scenario, "fast", shared_long, outage, None, {})
    assert "same instants" in simulate(s, "p", 0).fallback
    s = make(scenario, "fast", shared_long, outage, LOGNORMAL, {})
    assert simulate(s, "p", 0).engine == "fast"
    # ticks on whole seconds meet events on whole seconds (a replayed log)
    aligned = {**SHORT, "phase": "aligned"}
    s = make(scenario, "fast", aligned, {}, None, {})
    assert "same instants" in simulate(s, "p", 0).fallback


@pytest.mark.parametrize(
    ("strategy", "service"),
    [
        # the answer to a poll comes back on a later tick
        ({**SHORT, "interval_s": 0.008}, {"kind": "exponential", "mean": 0.5}),
        # work finishes on a later tick
        (SHORT, {"kind": "fixed", "value": 1.0}),
    ],
)
def test_fixed_timings_that_meet_ticks_fall_back_and_say_why(
    scenario, strategy, service
):
    extra = {"subscriber__service_time_s": service}
    fast = simulate(make(scenario, "fast", strategy, {}, None, extra, rate=0.5), "p", 0)
    assert fast.engine == "reference"
    assert "instants of later ticks" in fast.fallback


def test_push_strategies_report_no_fallback(scenario):
    outcome = simulate(scenario(), "fanout", 0)
    assert outcome.engine == "reference" and outcome.fallback is None


def test_an_unknown_engine_is_refused(scenario):
    with pytest.raises(ValueError, match="engine"):
        scenario(simulation__engine="turbo")


@pytest.mark.parametrize(
    "dist",
    [
        Exponential(kind="exponential", mean=0.3),
        LogNormal(kind="lognormal", median=0.01, sigma=0.7),
        Uniform(kind="uniform", low=0.1, high=0.4),
    ],
)
def test_blocks_of_draws_are_the_draws_one_by_one(dist):
    # peeking and skipping in blocks must leave the stream where single
    # draws would, for every distribution a delay may have
    rng = np.random.default_rng(11)
    singles = [float(dist.draw(rng, 1)[0]) for _ in range(3000)]
    sampler = Sampler(dist, np.random.default_rng(11))
    got = list(sampler.peek(7))
    sampler.skip(7)
    got.append(sampler())
    got.append(sampler.ahead(2500))
    ahead = sampler.peek(2600)
    sampler.skip(2500)
    got.extend(sampler.peek(3))
    assert got[:8] == singles[:8]
    assert got[8] == singles[8 + 2500]
    assert list(ahead[:5]) == singles[8:13]
    assert got[9:] == singles[8 + 2500 : 8 + 2503]
    assert math.isfinite(got[-1])


def test_a_fleet_that_must_wake_every_consumer_is_refused_when_too_large():
    from sim import bench

    # one at a time (fixed delay, no outages): 360 million polls are fine
    assert bench.fleet().simulation.engine == "fast"
    with pytest.raises(ValueError, match="360,000,000 consumer wake-ups"):
        bench.fleet(network=bench.NETWORK_DRAWN)
    # the reference engine simulates every poll: refused on polls
    with pytest.raises(ValueError, match="polls of strategy 's'"):
        bench.fleet(engine="reference")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    jitter=st.sampled_from(["none", "full", "equal"]),
    interval_s=st.sampled_from([0.05, 0.5, 2.0]),
    growth=st.sampled_from([1.0, 1.5, 3.0]),
    ceiling=st.sampled_from([1.0, 4.0, 64.0]),
    rate=st.sampled_from([0.01, 0.3, 5.0]),
    latency=st.sampled_from([LOGNORMAL, EXPONENTIAL, None]),
    faults=st.sampled_from([{}, OUTAGES]),
    shared=st.booleans(),
)
def test_any_backoff_gives_the_reference_results(
    scenario, seed, jitter, interval_s, growth, ceiling, rate, latency, faults, shared
):
    strategy = {
        **SHORT,
        "interval_s": interval_s,
        "shared_queue": shared,
        "backoff": {
            "max_interval_s": interval_s * ceiling,
            "multiplier": growth,
            "jitter": jitter,
        },
    }
    cases = (strategy, faults, latency, {"simulation__seed": seed})
    fast = simulate(make(scenario, "fast", *cases, rate=rate), "p", 0)
    reference = simulate(make(scenario, "reference", *cases, rate=rate), "p", 0)
    assert_same(fast, reference)
