"""Small helpers over SimPy's event queue.

The model schedules plain callbacks on SimPy timeouts instead of starting a
process per message: a delivery then costs a handful of heap operations, not
a generator, which keeps large runs affordable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy
from simpy.events import Timeout

from sim.scenario import Fixed

BLOCK = 1024


def later(
    env: simpy.Environment, delay: float, action: Callable[..., None], *args
) -> None:
    """Call ``action(*args)`` when ``delay`` simulated seconds have passed."""
    Timeout(env, delay).callbacks.append(lambda _event: action(*args))


class Sampler:
    """Draws one value at a time from a distribution, a block at a time.

    Drawing from a numpy generator one scalar per call is slow, so values
    come from blocks of ``BLOCK``; the sequence depends only on the stream.
    """

    __slots__ = ("_dist", "_rng", "_block", "_pos", "_constant")

    def __init__(self, dist, rng: np.random.Generator):
        self._dist = dist
        self._rng = rng
        self._constant = dist.value if isinstance(dist, Fixed) else None
        self._block: list[float] = []
        self._pos = 0

    def __call__(self) -> float:
        if self._constant is not None:
            return self._constant
        if self._pos == len(self._block):
            self._block = self._dist.draw(self._rng, BLOCK).tolist()
            self._pos = 0
        value = self._block[self._pos]
        self._pos += 1
        return value
