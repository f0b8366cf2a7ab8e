"""A pusher keeps only its oldest waiting attempt's timeout in the event
queue; with every attempt's timeout queued, as a plain model would do it,
every result must be the same, to the last bit."""

import dataclasses

import numpy as np
import pytest

from sim.model import push, simulate
from sim.model.engine import at_place


class EveryTimeout(push.Pusher):
    """Queues the timeout of every attempt at the place it reserved."""

    def _set_timer(self) -> None:
        while self._deadlines:
            place, d, attempt = self._deadlines.popleft()
            at_place(self.env, place, self._timed_out, d, attempt)


FAULTS = {
    "outages": [{"start_s": 200.0, "duration_s": 120.0}],
    "mtbf_s": 300.0,
    "mttr_s": 20.0,
    "when_down": "blackhole",
    "error_5xx_probability": 0.1,
    "rate_limit_per_s": 3.0,
    "rate_limit_burst": 2,
    "ack_loss_probability": 0.05,
}
RETRY = {"kind": "exponential", "base_s": 0.5, "cap_s": 8.0, "max_attempts": 5}


@pytest.mark.parametrize("strategy", ["fanout", "broker"])
def test_results_are_those_of_one_timeout_per_attempt(scenario, monkeypatch, strategy):
    s = scenario(
        simulation={
            "duration_s": 900.0,
            "warmup_s": 50.0,
            "seed": 3,
            "replications": 1,
        },
        workload__arrivals={"kind": "poisson", "rate_per_s": 2.0},
        network__latency_s={"kind": "lognormal", "median": 0.01, "sigma": 0.5},
        subscriber={
            "service_time_s": {"kind": "exponential", "mean": 0.3},
            "concurrency": 2,
            "faults": FAULTS,
        },
        strategies=[
            {
                "name": "fanout",
                "kind": "fanout",
                "concurrency": 4,
                "timeout_s": 1.5,
                "retry": RETRY,
            },
            {
                "name": "broker",
                "kind": "broker",
                "push_concurrency": 2,
                "timeout_s": 1.5,
                "retry": RETRY,
            },
        ],
    )
    lazy = simulate(s, strategy, 0)
    monkeypatch.setattr(push, "Pusher", EveryTimeout)
    every = simulate(s, strategy, 0)
    # the scenario exercises timeouts, retries and give-ups
    assert lazy.counts["timeouts"] > 50 and lazy.counts["retries"] > 50
    assert lazy.counts["dead_lettered"] > 0
    for field in dataclasses.fields(lazy):
        a, b = getattr(lazy, field.name), getattr(every, field.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, field.name
