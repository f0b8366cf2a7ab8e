"""The simulator's cost: one small run of each strategy, and its targets.

``time_run`` is the wall time of one replication; ``track_deliveries_per_s``
is simulated deliveries per second of that time, the figure that bounds how
large a sweep can be. The classes after ``IdlePolling`` track the targets
``python -m sim bench`` checks (:mod:`sim.bench` builds their scenarios),
at sizes that keep a quick run short: rates per CPU second of this
process, and ratios measured within one call so that both sides see the
same machine load.
"""

import time

from sim import bench
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
            "network": bench.network_table(bench.NETWORK_DRAWN),
            "costs": bench.COSTS,
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


class PollingEngines:
    """Polls accounted per CPU second by each engine, for each polling
    strategy: 100 consumers with their own queues, one event per 100 s."""

    params = (list(bench.POLLERS), ["fast", "reference"])
    param_names = ["strategy", "engine"]
    timeout = 300

    def setup(self, strategy, engine):
        self.scenario = bench.pollers(strategy, engine, duration_s=1000.0)

    def time_run(self, strategy, engine):
        simulate(self.scenario, "s", 0)

    def track_polls_per_cpu_s(self, strategy, engine):
        outcome, cpu_s = bench.run_cpu_s(self.scenario)
        return outcome.counts["polls"] / cpu_s

    track_polls_per_cpu_s.unit = "polls/s"


class FastAgainstReference:
    """The fast engine against the reference model on 100 consumers of one
    shared queue polling every second at one event a second (2,000 s here;
    ``python -m sim bench`` runs the 10,000 s of the target)."""

    timeout = 300

    def setup(self):
        self.fast = bench.fleet(100, 1.0, 2000.0, 1.0)
        self.reference = bench.fleet(100, 1.0, 2000.0, 1.0, "reference")

    def time_fast(self):
        simulate(self.fast, "s", 0)

    def track_speedup(self):
        fast, fast_s = bench.run_cpu_s(self.fast)
        reference, reference_s = bench.run_cpu_s(self.reference)
        if bench.differences(fast, reference):
            raise AssertionError("the engines disagree")
        return reference_s / fast_s

    track_speedup.unit = "x"


class Fleet:
    """10,000 consumers polling one shared queue every 100 ms at 10 events
    a second (a tenth of the target's hour here: 36 million polls)."""

    timeout = 300

    def setup(self):
        self.scenario = bench.fleet(duration_s=360.0)

    def time_run(self):
        simulate(self.scenario, "s", 0)

    def track_polls_per_cpu_s(self):
        outcome, cpu_s = bench.run_cpu_s(self.scenario)
        return outcome.counts["polls"] / cpu_s

    track_polls_per_cpu_s.unit = "polls/s"


class PushThroughput:
    """Deliveries per CPU second of fan-out and a broker (50,000 deliveries),
    alone and against a plain SimPy M/M/1 queue with as many customers."""

    params = ["fanout", "broker"]
    param_names = ["strategy"]
    timeout = 300
    deliveries = 50_000

    def setup(self, strategy):
        self.scenario = bench.push(strategy, self.deliveries)

    def time_run(self, strategy):
        simulate(self.scenario, "s", 0)

    def track_deliveries_per_cpu_s(self, strategy):
        outcome, cpu_s = bench.run_cpu_s(self.scenario)
        return bench.delivered(outcome) / cpu_s

    track_deliveries_per_cpu_s.unit = "deliveries/s"

    def track_against_mm1(self, strategy):
        outcome, cpu_s = bench.run_cpu_s(self.scenario)
        made = bench.delivered(outcome)
        _, mm1_s = bench.timed(lambda: bench.mm1_customers(made))
        return (made / cpu_s) / (made / mm1_s)

    track_against_mm1.unit = "x"

    def peakmem_run(self, strategy):
        simulate(self.scenario, "s", 0)


class ManyDeliveries:
    """Peak memory of a run of half a million deliveries (the bench command
    runs the target's ten million in a fresh process)."""

    timeout = 300

    def setup(self):
        self.scenario = bench.many_deliveries(500_000)

    def peakmem_run(self):
        simulate(self.scenario, "s", 0)
