"""Small helpers over SimPy's event queue.

The model schedules plain callbacks instead of starting a process per
message: a delivery then costs a handful of heap operations, not a
generator, which keeps large runs affordable. A callback goes on the queue
exactly as a :class:`simpy.Timeout` would (same instant, priority and
sequence number, so the same order among simultaneous events), but as a
small object that carries only what :meth:`simpy.Environment.step` reads
from an event: its callbacks and that it succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.scenario import Fixed

BLOCK = 1024


def _fire(call: _Call) -> None:
    call.action(*call.args)


class _Call:
    """A callback waiting in the event queue."""

    __slots__ = ("action", "args", "callbacks")
    _ok = True  # read by Environment.step: the event succeeded

    def __init__(self, action: Callable[..., None], args: tuple):
        self.action = action
        self.args = args
        self.callbacks = (_fire,)


def later(
    env: simpy.Environment, delay: float, action: Callable[..., None], *args
) -> None:
    """Call ``action(*args)`` when ``delay`` simulated seconds have passed."""
    if delay < 0:
        raise ValueError(f"negative delay {delay}")
    heappush(
        env._queue, (env._now + delay, NORMAL, next(env._eid), _Call(action, args))
    )


def reserve(env: simpy.Environment, delay: float) -> tuple[float, int]:
    """The place in the queue of a timeout set now for ``delay``: its
    instant and sequence number, for :func:`at_place` to use later."""
    return env._now + delay, next(env._eid)


def at_place(
    env: simpy.Environment,
    place: tuple[float, int],
    action: Callable[..., None],
    *args,
) -> None:
    """Call ``action(*args)`` at a place taken with :func:`reserve`: it runs
    exactly when, and in the order, a timeout set at reservation would."""
    heappush(env._queue, (place[0], NORMAL, place[1], _Call(action, args)))


class Sampler:
    """Draws one value at a time from a distribution, a block at a time.

    Drawing from a numpy generator one scalar per call is slow, so values
    come from blocks of ``BLOCK``; the sequence depends only on the stream,
    since numpy draws a block of n values exactly as it draws n single
    values. :meth:`peek` and :meth:`skip` let a caller read many values
    ahead at once and then consume only those it used.
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

    @property
    def constant(self) -> float | None:
        """The value every draw gives, or None when draws vary."""
        return self._constant

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` values, without consuming them."""
        if self._constant is not None:
            return np.full(n, self._constant)
        missing = n - (len(self._block) - self._pos)
        if missing > 0:
            more = self._dist.draw(self._rng, max(BLOCK, missing)).tolist()
            self._block = self._block[self._pos :] + more
            self._pos = 0
        return np.array(self._block[self._pos : self._pos + n], dtype=float)

    def ahead(self, i: int) -> float:
        """The value the ``i``-th call from now (0 for the next) returns."""
        if self._constant is not None:
            return self._constant
        if self._pos + i >= len(self._block):
            self.peek(i + 1)
        return self._block[self._pos + i]

    def skip(self, n: int) -> None:
        """Consume ``n`` values already seen with :meth:`peek`."""
        if self._constant is None:
            if self._pos + n > len(self._block):
                raise ValueError(f"skip({n}) past the values peeked")
            self._pos += n


class ProxiedDelay:
    """A network leg's delay plus the delay of each sidecar proxy on it,
    summed in the order they are drawn; peeks and skips like a Sampler."""

    __slots__ = ("_base", "_proxy", "_proxies")

    def __init__(self, base: Sampler, proxy: Sampler, proxies: int):
        self._base = base
        self._proxy = proxy
        self._proxies = proxies

    def __call__(self) -> float:
        total = self._base()
        for _ in range(self._proxies):
            total += self._proxy()
        return total

    @property
    def constant(self) -> float | None:
        if self._base.constant is None or self._proxy.constant is None:
            return None
        total = self._base.constant
        for _ in range(self._proxies):
            total += self._proxy.constant
        return total

    def peek(self, n: int) -> np.ndarray:
        total = self._base.peek(n)
        proxy = self._proxy.peek(n * self._proxies).reshape(n, self._proxies)
        for column in range(self._proxies):
            total = total + proxy[:, column]
        return total

    def ahead(self, i: int) -> float:
        total = self._base.ahead(i)
        for j in range(self._proxies):
            total += self._proxy.ahead(i * self._proxies + j)
        return total

    def skip(self, n: int) -> None:
        self._base.skip(n)
        self._proxy.skip(n * self._proxies)
