"""When a subscriber is down, and how fast it lets requests in.

Outage windows are fixed before a run starts: the scheduled ones from the
scenario, and, when ``mtbf_s`` and ``mttr_s`` are set, alternating
exponential up and down periods from the subscriber's own fault stream.
"""

from __future__ import annotations

import bisect

import numpy as np

from sim.scenario import Faults


class Availability:
    """The down windows of one subscriber, as sorted, merged intervals."""

    def __init__(self, faults: Faults, horizon_s: float, rng: np.random.Generator):
        windows = [(o.start_s, o.start_s + o.duration_s) for o in faults.outages]
        if faults.mtbf_s is not None:
            t = 0.0
            while t < horizon_s:
                t += rng.exponential(faults.mtbf_s)
                repair = rng.exponential(faults.mttr_s)
                windows.append((t, t + repair))
                t += repair
        self.windows = _merge(windows)
        self._starts = [w[0] for w in self.windows]

    def is_down(self, t: float) -> bool:
        if not self._starts:
            return False
        i = bisect.bisect_right(self._starts, t) - 1
        return i >= 0 and t < self.windows[i][1]

    def down_mask(self, times: np.ndarray) -> np.ndarray:
        """:meth:`is_down` of each of ``times``, at once."""
        if not self.windows:
            return np.zeros(len(times), dtype=bool)
        i = np.searchsorted(self._starts, times, side="right") - 1
        ends = np.array([w[1] for w in self.windows])
        return (i >= 0) & (times < ends[np.maximum(i, 0)])

    def up_at(self, t: float) -> float:
        """When the subscriber is next up: ``t`` itself if it is up then."""
        i = bisect.bisect_right(self._starts, t) - 1
        return self.windows[i][1] if i >= 0 and t < self.windows[i][1] else t

    def down_time_s(self, start_s: float, end_s: float) -> float:
        """Seconds of ``[start_s, end_s)`` spent down."""
        return sum(
            max(0.0, min(end, end_s) - max(start, start_s))
            for start, end in self.windows
        )


def _merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class TokenBucket:
    """Admits ``rate_per_s`` requests a second on average, ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int):
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated_s = 0.0

    def admit(self, now: float) -> bool:
        self.tokens = min(
            self.burst, self.tokens + (now - self.updated_s) * self.rate_per_s
        )
        self.updated_s = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
