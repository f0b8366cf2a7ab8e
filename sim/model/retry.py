"""Delays between delivery attempts, as each retry policy defines them.

:class:`Backoff` turns a policy and a random stream into the delay before
retry k (k = 1 for the first retry). It knows nothing of SimPy, so the
validation checks can draw from it directly.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario import (
    ExponentialRetry,
    FixedRetry,
    NoRetry,
    PhasedRetry,
    ScheduleRetry,
)


class Backoff:
    """The delay before each retry of one delivery under ``policy``."""

    def __init__(self, policy, rng: np.random.Generator):
        self.policy = policy
        self.rng = rng

    def delay(self, retry: int, previous_s: float | None = None) -> float:
        """Seconds to wait before retry ``retry`` (1-based).

        ``previous_s`` is the delay before the previous retry; only
        decorrelated jitter uses it.
        """
        p = self.policy
        if isinstance(p, NoRetry):
            raise ValueError("a policy of kind 'none' never retries")
        if isinstance(p, FixedRetry):
            return p.delay_s
        if isinstance(p, ExponentialRetry):
            return self._exponential(p, retry, previous_s)
        if isinstance(p, ScheduleRetry):
            base = p.delays_s[min(retry, len(p.delays_s)) - 1]
            return self._randomised(base, p.randomisation)
        if isinstance(p, PhasedRetry):
            return self._randomised(phased_delay(p, retry), p.randomisation)
        raise TypeError(f"unknown retry policy {p!r}")

    def _exponential(
        self, p: ExponentialRetry, retry: int, previous_s: float | None
    ) -> float:
        ceiling = min(p.cap_s, p.base_s * p.multiplier ** (retry - 1))
        if p.jitter == "none":
            return ceiling
        if p.jitter == "full":
            return self.rng.uniform(0.0, ceiling)
        if p.jitter == "equal":
            return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        last = p.base_s if previous_s is None else previous_s
        return min(p.cap_s, self.rng.uniform(p.base_s, 3 * last))

    def _randomised(self, base: float, fraction: float) -> float:
        if fraction == 0.0:
            return base
        return base * self.rng.uniform(1 - fraction, 1 + fraction)


def phased_delay(p: PhasedRetry, retry: int) -> float:
    """The undithered delay before retry ``retry`` of an SNS-style policy.

    SNS documents its backoff functions only as curves from the minimum to
    the maximum delay. Here the backoff phase's i-th of n retries waits
    ``min + (max - min) * f(i / n)`` with f(x) = x (linear), x^2
    (arithmetic), x^3 (geometric), or geometric growth from min to max
    (exponential).
    """
    if retry <= p.no_delay_retries:
        return 0.0
    retry -= p.no_delay_retries
    if retry <= p.min_delay_retries:
        return p.min_delay_s
    retry -= p.min_delay_retries
    backoff = p.retries - p.no_delay_retries - p.min_delay_retries - p.max_delay_retries
    if retry > backoff:
        return p.max_delay_s
    x = retry / backoff
    if p.backoff_function == "exponential":
        return p.min_delay_s * (p.max_delay_s / p.min_delay_s) ** x
    power = {"linear": 1, "arithmetic": 2, "geometric": 3}[p.backoff_function]
    return p.min_delay_s + (p.max_delay_s - p.min_delay_s) * math.pow(x, power)
