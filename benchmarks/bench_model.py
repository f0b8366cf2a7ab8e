"""The simulator's cost: one small run of each strategy.

``time_run`` is the wall time of one replication; ``track_deliveries_per_s``
is simulated deliveries per second of that time, the figure that bounds how
large a sweep can be.
"""

import time

from sim.model import simulate
from sim.scenario import Scenario

STRATEGIES = ["short_poll", "long_poll", "fanout", "broker"]


def small_scenario(rate_per_s: float = 5.0) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "bench",
            "simulation": {"duration_s": 600.0, "warmup_s": 0.0, "seed": 1},
            "workload": {
                "subscribers": 10,
                "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
                "payload_bytes": {"kind": "lognormal", "median": 1024, "sigma": 0.5},
            },
            "network": {
                "latency_s": {"kind": "lognormal", "median": 0.002, "sigma": 0.3},
                "request_overhead_bytes": 350,
                "response_overhead_bytes": 250,
            },
            "costs": {
                "cpu_s_per_request_sent": 1.75e-4,
                "cpu_s_per_request_handled": 1.55e-4,
                "cpu_s_per_kib_serialised": 3e-5,
                "cpu_s_per_kib_deserialised": 2e-5,
            },
            "subscriber": {
                "service_time_s": {"kind": "exponential", "mean": 0.005},
                "concurrency": 4,
            },
            "strategies": [
                {"name": "short_poll", "kind": "short_poll", "interval_s": 1.0},
                {"name": "long_poll", "kind": "long_poll", "wait_s": 20.0},
                {
                    "name": "fanout",
                    "kind": "fanout",
                    "concurrency": 20,
                    "timeout_s": 10.0,
                },
                {
                    "name": "broker",
                    "kind": "broker",
                    "push_concurrency": 4,
                    "timeout_s": 10.0,
                },
            ],
        }
    )


class SimulateOneRun:
    params = STRATEGIES
    param_names = ["strategy"]
    timeout = 120

    def setup(self, strategy):
        self.scenario = small_scenario()

    def time_run(self, strategy):
        simulate(self.scenario, strategy, 0)

    def peakmem_run(self, strategy):
        simulate(self.scenario, strategy, 0)

    def track_deliveries_per_s(self, strategy):
        started = time.perf_counter()
        outcome = simulate(self.scenario, strategy, 0)
        return outcome.latency_s.size / (time.perf_counter() - started)

    track_deliveries_per_s.unit = "deliveries/s"


class IdlePolling:
    """Short polling with (almost) no events: the cost of empty polls."""

    timeout = 120

    def setup(self):
        self.scenario = small_scenario(rate_per_s=1e-9)

    def time_run(self):
        simulate(self.scenario, "short_poll", 0)

    def track_polls_per_s(self):
        from sim.run import run

        result = run(self.scenario, "short_poll")
        return result.metrics["polls"] / result.wall_s

    track_polls_per_s.unit = "polls/s"
