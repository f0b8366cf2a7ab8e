"""Events delivered alone, without the event queue (QuietDeliveries), give
the results of the reference model, which queues every poll and every step
of every delivery; and they are delivered that way where the scenario
allows it, not only in principle."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import simulate, skipping
from tests.test_fast_polling import assert_same


@pytest.fixture
def alone(monkeypatch):
    """The QuietDeliveries made by the runs of a test."""
    made = []
    original = skipping.QuietDeliveries.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(skipping.QuietDeliveries, "__init__", recording)
    return made


def fleet(scenario, engine, *, seed=3, rate=0.5, strategy=None, **changes):
    subscriber = {
        "service_time_s": {"kind": "exponential", "mean": 0.05},
        "concurrency": 1,
        **changes.pop("subscriber", {}),
    }
    simulation = {
        "duration_s": 600.0,
        "warmup_s": 60.0,
        "seed": seed,
        "replications": 1,
        "engine": engine,
        **changes.pop("simulation", {}),
    }
    return scenario(
        simulation=simulation,
        workload__subscribers=changes.pop("subscribers", 20),
        workload__arrivals={"kind": "poisson", "rate_per_s": rate},
        network__latency_s={"kind": "fixed", "value": 0.004},
        subscriber=subscriber,
        strategies=[
            {
                "name": "p",
                "kind": "short_poll",
                "interval_s": 1.0,
                "shared_queue": True,
                **(strategy or {}),
            }
        ],
        **changes,
    )


def both(scenario, **changes):
    fast = simulate(fleet(scenario, "fast", **changes), "p", 0)
    reference = simulate(fleet(scenario, "reference", **changes), "p", 0)
    assert_same(fast, reference)
    return fast, reference


CASES = {
    "default": {},
    "busy: most events meet another": {"rate": 8.0},
    "not idempotent": {"subscriber": {"idempotent": False}},
    "idempotency check costs CPU": {
        "subscriber": {"cpu_s_per_idempotency_check": 2e-5}
    },
    "two workers": {"subscriber": {"concurrency": 2}},
    "one event per poll": {"strategy": {"max_batch": 1, "repoll_when_full": False}},
    "repoll when full": {"strategy": {"max_batch": 2, "repoll_when_full": True}},
    "prefetch": {"strategy": {"prefetch": 3, "max_batch": 2}},
    "one consumer": {"subscribers": 1},
    "uniform service time": {
        "subscriber": {
            "service_time_s": {"kind": "uniform", "low": 0.001, "high": 0.02}
        }
    },
    "no warm-up, short run": {"simulation": {"warmup_s": 0.0, "duration_s": 50.0}},
    "slow subscriber, long drain": {
        "subscriber": {"service_time_s": {"kind": "exponential", "mean": 1.5}}
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_events_delivered_alone_give_the_reference_results(scenario, alone, case):
    fast, reference = both(scenario, **CASES[case])
    # the fast engine did deliver events alone, and left others to the queue
    delivered = sum(a.delivered for a in alone)
    assert 0 < delivered
    if case.startswith("busy"):
        assert delivered < fast.events_published


def test_most_lone_events_skip_the_queue(scenario, alone):
    fast, _ = both(scenario, rate=0.2)
    # one event in five seconds, each handled in about 60 ms: nearly every
    # event is alone, and only those meeting another go through the queue
    assert sum(a.delivered for a in alone) > 0.9 * fast.events_published


@pytest.mark.parametrize(
    "strategy",
    [
        {"ack": "per_event", "visibility_timeout_s": 30.0},
        {"false_empty_probability": 0.2},
        {"max_batch": 1, "repoll_when_full": True},
    ],
)
def test_strategies_that_do_more_than_poll_use_the_queue(scenario, alone, strategy):
    both(scenario, strategy=strategy)
    assert not alone


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([0.05, 0.5, 2.0, 20.0]),
    consumers=st.integers(1, 30),
    interval_s=st.sampled_from([0.05, 0.3, 1.0, 7.0]),
    service_mean_s=st.sampled_from([0.001, 0.05, 0.4]),
    concurrency=st.integers(1, 3),
    max_batch=st.integers(1, 4),
    warmup_s=st.sampled_from([0.0, 13.7]),
)
def test_any_fleet_gives_the_reference_results(
    scenario,
    seed,
    rate,
    consumers,
    interval_s,
    service_mean_s,
    concurrency,
    max_batch,
    warmup_s,
):
    both(
        scenario,
        seed=seed,
        rate=rate,
        subscribers=consumers,
        strategy={"interval_s": interval_s, "max_batch": max_batch},
        subscriber={
            "service_time_s": {"kind": "exponential", "mean": service_mean_s},
            "concurrency": concurrency,
        },
        simulation={"duration_s": 120.0, "warmup_s": warmup_s},
    )
