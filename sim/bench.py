"""What the simulator costs, measured against its targets.

Each function builds its scenario, runs it and returns what it measured;
nothing here prints (``python -m sim bench`` does, from
:mod:`sim.cli_bench`) and the asv suite in ``benchmarks/bench_model.py``
calls the same functions. CPU time is the process's own
(:func:`time.process_time`), so other work on the machine slows a
measurement less than it would wall time; the sweep speed-up, being about
processes, is measured in wall time.

The polling fleet follows the realistic case in which each event concerns
one consumer of many: the consumers compete for one queue (``shared_queue``),
each event is taken by one of them, and nearly every poll is empty. (If
every one of 10,000 consumers fetched every event, 10 events a second
polled every 100 ms would make 360 million deliveries, not empty polls.)
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.model import Outcome, simulate
from sim.scenario import Scenario, Sweep

NETWORK_FIXED = {"kind": "fixed", "value": 0.002}
NETWORK_DRAWN = {"kind": "lognormal", "median": 0.002, "sigma": 0.3}
# costs of a small HTTP service, as in the bundled default scenario
COSTS = {
    "cpu_s_per_request_sent": 1.75e-4,
    "cpu_s_per_request_handled": 1.55e-4,
    "cpu_s_per_kib_serialised": 3e-5,
    "cpu_s_per_kib_deserialised": 2e-5,
}


def network_table(latency: dict) -> dict:
    """The network table with one-way delays ``latency`` and HTTP framing."""
    return {
        "latency_s": latency,
        "request_overhead_bytes": 350,
        "response_overhead_bytes": 250,
    }


@dataclass(frozen=True)
class Target:
    """One measured figure against its target."""

    name: str
    measured: float
    target: float
    unit: str
    higher_is_better: bool
    detail: str = ""

    @property
    def passed(self) -> bool:
        if self.higher_is_better:
            return self.measured >= self.target
        return self.measured < self.target


def scenario(
    *,
    subscribers: int,
    rate_per_s: float,
    duration_s: float,
    strategy: dict,
    engine: str = "fast",
    network: dict | None = None,
    concurrency: int = 1,
) -> Scenario:
    """A one-strategy scenario (named ``s``) with costs of a small HTTP
    service and exponential service times of 5 ms."""
    return Scenario.model_validate(
        {
            "name": "bench",
            "simulation": {
                "duration_s": duration_s,
                "warmup_s": 0.0,
                "seed": 1,
                "engine": engine,
            },
            "workload": {
                "subscribers": subscribers,
                "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
                "payload_bytes": {"kind": "lognormal", "median": 1024, "sigma": 0.5},
            },
            "network": network_table(network or NETWORK_FIXED),
            "costs": COSTS,
            "subscriber": {
                "service_time_s": {"kind": "exponential", "mean": 0.005},
                "concurrency": concurrency,
            },
            "strategies": [{"name": "s", **strategy}],
        }
    )


def fleet(
    consumers: int = 10_000,
    interval_s: float = 0.1,
    duration_s: float = 3600.0,
    rate_per_s: float = 10.0,
    engine: str = "fast",
    network: dict | None = None,
) -> Scenario:
    """Consumers short-polling one shared queue (competing consumers)."""
    return scenario(
        subscribers=consumers,
        rate_per_s=rate_per_s,
        duration_s=duration_s,
        strategy={
            "kind": "short_poll",
            "interval_s": interval_s,
            "shared_queue": True,
        },
        engine=engine,
        network=network,
    )


# polling strategies whose polls-per-second the benchmarks report
POLLERS: dict[str, dict] = {
    "short_poll": {"kind": "short_poll", "interval_s": 1.0},
    "short_backoff": {
        "kind": "short_poll",
        "interval_s": 1.0,
        "backoff": {"max_interval_s": 8.0, "jitter": "full"},
    },
    "long_poll": {"kind": "long_poll", "wait_s": 20.0},
    "sqs_short_poll": {
        "kind": "short_poll",
        "interval_s": 1.0,
        "preset": "sqs_short_poll",
    },
    "sqs_long_poll": {"kind": "long_poll", "preset": "sqs_long_poll"},
    "service_bus": {"kind": "long_poll", "preset": "service_bus"},
}


def pollers(
    name: str, engine: str = "fast", subscribers: int = 100, duration_s=10_000.0
) -> Scenario:
    """``subscribers`` consumers, each with its own queue, polling with
    strategy ``name`` of :data:`POLLERS`; one event in 100 s for each, and
    network delays drawn from a log-normal (two draws per poll)."""
    return scenario(
        subscribers=subscribers,
        rate_per_s=0.01,
        duration_s=duration_s,
        strategy=POLLERS[name],
        engine=engine,
        network=NETWORK_DRAWN,
    )


def timed(action: Callable[[], object]) -> tuple[object, float]:
    """``action()`` and the CPU seconds this process spent on it."""
    started = time.process_time()
    result = action()
    return result, time.process_time() - started


def run_cpu_s(s: Scenario) -> tuple[Outcome, float]:
    return timed(lambda: simulate(s, "s", 0))


def delivered(outcome: Outcome) -> int:
    return int(np.count_nonzero(~np.isnan(outcome.latency_s)))


def differences(a: Outcome, b: Outcome) -> list[str]:
    """How two outcomes of the same run differ beyond floating-point
    rounding; empty when they agree."""
    found = []
    for field in ("counts", "bytes", "events_published"):
        if getattr(a, field) != getattr(b, field):
            found.append(field)
    for role, cpu_s in a.cpu_s.items():
        if not np.isclose(cpu_s, b.cpu_s[role], rtol=1e-9, atol=1e-12):
            found.append(f"cpu_s[{role}]")
    if a.latency_s.shape != b.latency_s.shape or not np.allclose(
        a.latency_s, b.latency_s, rtol=0, atol=1e-9, equal_nan=True
    ):
        found.append("latency_s")
    return found


def mm1_customers(n: int, seed: int = 1) -> None:
    """A plain SimPy M/M/1 queue (load 0.8) served to ``n`` customers, each
    a process that requests the server, holds it, and leaves: the engine's
    own cost of a customer, for comparison."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.25, n).tolist()
    services = rng.exponential(1.0, n).tolist()
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    waits = np.empty(n)

    def customer(i: int):
        arrived = env.now
        with server.request() as request:
            yield request
            waits[i] = env.now - arrived
            yield env.timeout(services[i])

    def arrivals():
        for i in range(n):
            yield env.timeout(gaps[i])
            env.process(customer(i))

    env.process(arrivals())
    env.run()


def push(kind: str, deliveries: int) -> Scenario:
    """Fan-out or a broker to 10 subscribers at 100 events a second, long
    enough for about ``deliveries`` deliveries; delays drawn per message."""
    strategy = (
        {"kind": "fanout", "concurrency": 20, "timeout_s": 10.0}
        if kind == "fanout"
        else {"kind": "broker", "push_concurrency": 4, "timeout_s": 10.0}
    )
    return scenario(
        subscribers=10,
        rate_per_s=100.0,
        duration_s=deliveries / 1000.0,
        strategy=strategy,
        network=NETWORK_DRAWN,
        concurrency=4,
    )


def _peak_rss_child(deliveries: int, queue) -> None:
    outcome = simulate(many_deliveries(deliveries), "s", 0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((delivered(outcome), peak_kib * 1024))


def many_deliveries(deliveries: int) -> Scenario:
    """Fan-out to 100 subscribers at 100 events a second, long enough for
    ``deliveries`` deliveries."""
    return scenario(
        subscribers=100,
        rate_per_s=100.0,
        duration_s=deliveries / 10_000.0,
        strategy={"kind": "fanout", "concurrency": 200, "timeout_s": 10.0},
        network=NETWORK_DRAWN,
        concurrency=4,
    )


def peak_memory(deliveries: int) -> tuple[int, int]:
    """Deliveries made and peak resident bytes of a fresh process that
    simulates :func:`many_deliveries` (interpreter and imports included)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_rss_child, args=(deliveries, queue))
    child.start()
    made, peak = queue.get()
    child.join()
    return made, peak


def sweep_of(runs: int, duration_s: float) -> Sweep:
    """``runs`` replications of one broker run, as a sweep."""
    base = push("broker", int(duration_s * 1000))
    base = base.model_copy(
        update={"simulation": base.simulation.model_copy(update={"replications": runs})}
    )
    return Sweep(
        name="bench",
        source="bench",
        base=base,
        axes={},
        points=({},),
        scenarios=(base,),
    )


def sweep_wall_s(sweep: Sweep, jobs: int) -> float:
    from sim.sweep import execute

    started = time.perf_counter()
    execute(sweep, jobs=jobs)
    return time.perf_counter() - started
