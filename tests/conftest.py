import copy
import sys
from pathlib import Path

import pytest

from sim.scenario import Scenario

BASE = {
    "name": "test",
    "simulation": {"duration_s": 600.0, "warmup_s": 0.0, "seed": 7, "replications": 2},
    "workload": {
        "subscribers": 3,
        "arrivals": {"kind": "poisson", "rate_per_s": 0.5},
        "payload_bytes": {"kind": "fixed", "value": 1000.0},
    },
    "network": {
        "latency_s": {"kind": "fixed", "value": 0.01},
        "request_overhead_bytes": 300,
        "response_overhead_bytes": 200,
    },
    "costs": {
        "cpu_s_per_request_sent": 5e-5,
        "cpu_s_per_request_handled": 1e-4,
        "cpu_s_per_kib_serialised": 2e-6,
        "cpu_s_per_kib_deserialised": 4e-6,
    },
    "subscriber": {"service_time_s": {"kind": "fixed", "value": 0.0}, "concurrency": 2},
    "strategies": [
        {"name": "poll", "kind": "short_poll", "interval_s": 2.0, "max_batch": 1000},
        {"name": "long", "kind": "long_poll", "wait_s": 20.0, "max_batch": 1000},
        {"name": "fanout", "kind": "fanout", "concurrency": 8, "timeout_s": 10.0},
        {"name": "broker", "kind": "broker", "push_concurrency": 2, "timeout_s": 10.0},
    ],
}


def build(**changes) -> dict:
    """The base scenario as a dict, with dotted paths replaced.

    ``strategies`` may be given whole; ``simulation__seed=3`` style keys use
    double underscores for dots.
    """
    raw = copy.deepcopy(BASE)
    for key, value in changes.items():
        parts = key.split("__")
        node = raw
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return raw


@pytest.fixture
def scenario():
    """A factory of validated scenarios: ``scenario(workload__subscribers=1)``."""
    return lambda **changes: Scenario.model_validate(build(**changes))


@pytest.fixture
def python() -> str:
    return sys.executable


ROOT = Path(__file__).resolve().parent.parent
