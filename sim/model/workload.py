"""Event arrivals and payload sizes, drawn once per replication.

Every strategy of a replication replays the same arrays (common random
numbers), so differences between strategies are not noise in the workload.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.streams import stream
from sim.scenario import MAX_PAYLOAD_BYTES, Constant, OnOff, Poisson, Scenario
from sim.workload_file import Fitted, Replay


@dataclass(frozen=True)
class Events:
    """Publish times (sorted, simulated seconds) and payload sizes (bytes)."""

    times: np.ndarray
    payload_bytes: np.ndarray

    def __len__(self) -> int:
        return len(self.times)


def draw_events(scenario: Scenario, replication: int) -> Events:
    """The events published during ``[0, duration_s)`` of one replication.

    A workload taken from a log file replays or fits the log (read once,
    when the scenario was loaded); replayed payload sizes replace the
    scenario's payload distribution.
    """
    sim = scenario.simulation
    arrivals = scenario.workload.arrivals
    rng = stream(sim.seed, replication, "arrivals")
    if isinstance(arrivals, (Replay, Fitted)):
        drawn = arrivals.draw(sim.duration_s, rng)
        if drawn.payload_bytes is not None:
            return Events(drawn.times, np.asarray(drawn.payload_bytes, dtype=np.int64))
        times = drawn.times
    else:
        times = arrival_times(arrivals, sim.duration_s, rng)
    sizes = scenario.workload.payload_bytes.draw(
        stream(sim.seed, replication, "payload"), len(times)
    )
    sizes = np.minimum(np.rint(sizes), MAX_PAYLOAD_BYTES)
    return Events(times=times, payload_bytes=sizes.astype(np.int64))


def arrival_times(arrivals, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival instants in ``[0, duration_s)``."""
    if isinstance(arrivals, Poisson):
        return _poisson(arrivals.rate_per_s, 0.0, duration_s, rng)
    if isinstance(arrivals, Constant):
        gap = 1.0 / arrivals.rate_per_s
        first = rng.uniform(0.0, gap)
        times = first + gap * np.arange(int(np.ceil((duration_s - first) / gap)))
        return times[times < duration_s]
    if isinstance(arrivals, OnOff):
        return _on_off(arrivals, duration_s, rng)
    raise TypeError(f"unknown arrival process {arrivals!r}")


def _poisson(
    rate: float, start: float, end: float, rng: np.random.Generator
) -> np.ndarray:
    # Given their number, Poisson arrivals are independent uniforms on the span.
    if rate == 0.0 or end <= start:
        return np.empty(0)
    n = rng.poisson(rate * (end - start))
    return np.sort(rng.uniform(start, end, n))


def _on_off(arrivals: OnOff, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    # The process starts in its stationary state: on with probability
    # mean_on / (mean_on + mean_off); exponential periods are memoryless.
    cycle = arrivals.mean_on_s + arrivals.mean_off_s
    on = rng.random() < arrivals.mean_on_s / cycle
    chunks, t = [], 0.0
    while t < duration_s:
        mean = arrivals.mean_on_s if on else arrivals.mean_off_s
        end = min(duration_s, t + rng.exponential(mean))
        rate = arrivals.on_rate_per_s if on else arrivals.off_rate_per_s
        chunks.append(_poisson(rate, t, end, rng))
        t, on = end, not on
    return np.concatenate(chunks) if chunks else np.empty(0)
