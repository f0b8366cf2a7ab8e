"""One run: one strategy of one scenario in one replication.

:func:`run` is a pure function of its arguments, so any executor (this
process, a process pool, a Dask worker) gives the same result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sim.metrics import LATENCY_QUANTILES, latency_quantiles, metrics_row
from sim.model import simulate
from sim.prices import monthly_cost
from sim.scenario import Scenario


@dataclass(frozen=True)
class RunResult:
    """The metrics of one run, its reaction latency at each of
    :data:`sim.metrics.LATENCY_QUANTILE_LEVELS` (empty when it has no
    sample), and how long the simulator took for it."""

    scenario: str
    strategy: str
    kind: str
    replication: int
    seed: int
    metrics: dict[str, float]
    latency_quantiles_s: tuple[float, ...]
    wall_s: float

    def row(self) -> dict[str, object]:
        """Identity columns, metrics, then the latency quantiles as one
        list; wall time is left out, since it differs from one execution to
        the next."""
        return {
            "strategy": self.strategy,
            "kind": self.kind,
            "replication": self.replication,
            "seed": self.seed,
            **self.metrics,
            LATENCY_QUANTILES: list(self.latency_quantiles_s),
        }


def run(scenario: Scenario, strategy: str, replication: int = 0) -> RunResult:
    """Simulate ``strategy`` of ``scenario``; replications draw independent
    streams from the scenario seed."""
    started = time.perf_counter()
    outcome = simulate(scenario, strategy, replication)
    kind = scenario.strategy(strategy).kind
    metrics = metrics_row(outcome)
    if scenario.prices is not None:
        metrics.update(
            monthly_cost(
                {**metrics, "kind": kind}, scenario.prices, scenario.simulation.window_s
            )
        )
    return RunResult(
        scenario=scenario.name,
        strategy=strategy,
        kind=kind,
        replication=replication,
        seed=scenario.simulation.seed,
        metrics=metrics,
        latency_quantiles_s=latency_quantiles(outcome),
        wall_s=time.perf_counter() - started,
    )
