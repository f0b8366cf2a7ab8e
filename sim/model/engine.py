"""Small helpers over SimPy's event queue, and the loop that runs it.

The model schedules plain callbacks instead of starting a process per
message: a delivery then costs a handful of heap operations, not a
generator, which keeps large runs affordable. A callback goes on SimPy's
queue at exactly the place a :class:`simpy.Timeout` set at the same moment
would take (same instant, priority and sequence number, so the same order
among simultaneous events), as the entry ``(instant, priority, sequence,
action, args)``; SimPy's own events keep their four-item entries.
:func:`run` steps through both kinds, as :meth:`simpy.Environment.run`
would, without building an event object per callback.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from heapq import heappop, heappush

import numpy as np
import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL

from sim.scenario import Fixed

BLOCK = 1024


def run(env: simpy.Environment, until: simpy.Event) -> None:
    """Process the queue until ``until`` has been processed, as
    ``env.run(until=until)`` does; the queue may hold callbacks scheduled
    with :func:`later` besides SimPy's events.

    The cyclic garbage collector is paused meanwhile: a run allocates
    millions of short-lived tuples, which their reference counts free, and
    the collector's passes over them took about a quarter of a push run's
    CPU time. What a run leaves in cycles is a few thousand objects of its
    setup, whatever its length, and the collector finds them once it
    resumes.
    """
    if until.callbacks is None:
        return
    until.callbacks.append(StopSimulation.callback)
    queue = env._queue
    collecting = gc.isenabled()
    gc.disable()
    try:
        while queue:
            entry = heappop(queue)
            env._now = entry[0]
            if len(entry) == 5:
                entry[3](*entry[4])
                continue
            event = entry[3]
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                failure = event._value
                raise type(failure)(*failure.args) from failure
    except StopSimulation:
        return
    finally:
        if collecting:
            gc.enable()
    raise RuntimeError(f"no events left in the queue and {until} never happened")


def later(
    env: simpy.Environment, delay: float, action: Callable[..., None], *args
) -> None:
    """Call ``action(*args)`` when ``delay`` simulated seconds have passed."""
    if delay < 0:
        raise ValueError(f"negative delay {delay}")
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), action, args))


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
    heappush(env._queue, (place[0], NORMAL, place[1], action, args))


class Sampler:
    """Draws one value at a time from a distribution, a block at a time.

    Drawing from a numpy generator one scalar per call is slow, so values
    come from blocks of ``BLOCK``; the sequence depends only on the stream,
    since numpy draws a block of n values exactly as it draws n single
    values. :meth:`peek` and :meth:`skip` let a caller read many values
    ahead at once and then consume only those it used.
    """

    __slots__ = ("_dist", "_rng", "_block", "_pos", "_constant")

    def __init__(
        self, dist, rng: np.random.Generator | Callable[[], np.random.Generator] | None
    ):
        self._dist = dist
        self._rng = rng  # or what makes it, at the first draw
        self._constant = dist.value if isinstance(dist, Fixed) else None
        self._block: list[float] = []
        self._pos = 0

    def __call__(self) -> float:
        if self._constant is not None:
            return self._constant
        if self._pos == len(self._block):
            self._block = self._dist.draw(self._generator(), BLOCK).tolist()
            self._pos = 0
        value = self._block[self._pos]
        self._pos += 1
        return value

    def _generator(self) -> np.random.Generator:
        if not isinstance(self._rng, np.random.Generator):
            self._rng = self._rng()
        return self._rng

    def put_back(self) -> None:
        """Undo the call just made: the next call gives its value again."""
        if self._constant is None:
            self._pos -= 1

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
            more = self._dist.draw(self._generator(), max(BLOCK, missing)).tolist()
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
