"""Subscribers: the services that want every event.

A subscriber runs ``concurrency`` workers. An event handed to it starts at
once on a free worker, or waits in a FIFO queue. Its reaction latency ends
when a worker starts on it; the service time that follows is the
subscriber's own work, the same under every strategy, and is not part of it.
A pushed request holds its caller's connection until the worker finishes,
since the subscriber's 2xx reply is the acknowledgement.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.engine import Sampler, later


class Deliveries:
    """Reaction latency of every (event, subscriber) pair in the window."""

    def __init__(
        self,
        times: np.ndarray,
        first: int,
        count: int,
        subscribers: int,
        complete: simpy.Event,
    ):
        self._times = times
        self._first = first
        self._count = count
        self._subscribers = subscribers
        self._complete = complete
        self.latency_s = np.full(count * subscribers, np.nan)
        self.delivered = 0
        if count == 0:
            complete.succeed()

    def handled(self, event: int, subscriber: int, now: float) -> None:
        k = event - self._first
        if 0 <= k < self._count:
            self.latency_s[k * self._subscribers + subscriber] = now - self._times[event]
            self.delivered += 1
            if self.delivered == self._count * self._subscribers:
                self._complete.succeed()


class Subscriber:
    """One subscriber's pool of workers and its queue of waiting events."""

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        concurrency: int,
        service_s: Sampler,
        deliveries: Deliveries,
    ):
        self.env = env
        self.index = index
        self._free = concurrency
        self._service_s = service_s
        self._deliveries = deliveries
        self._queue: deque[tuple[int, Callable[[], None] | None]] = deque()
        self._on_drained: Callable[[], None] | None = None

    @property
    def backlog(self) -> int:
        """Events handed over but not yet started."""
        return len(self._queue)

    def submit(self, event: int, on_done: Callable[[], None] | None = None) -> None:
        """Hand ``event`` over; ``on_done`` runs when a worker has finished it."""
        if self._free:
            self._start(event, on_done)
        else:
            self._queue.append((event, on_done))

    def when_drained(self, action: Callable[[], None]) -> None:
        """Run ``action`` once, as soon as no event is waiting for a worker."""
        if not self._queue:
            action()
        else:
            self._on_drained = action

    def _start(self, event: int, on_done: Callable[[], None] | None) -> None:
        self._free -= 1
        self._deliveries.handled(event, self.index, self.env.now)
        later(self.env, self._service_s(), self._finish, on_done)

    def _finish(self, on_done: Callable[[], None] | None) -> None:
        self._free += 1
        if on_done is not None:
            on_done()
        if self._queue:
            self._start(*self._queue.popleft())
            if not self._queue and self._on_drained is not None:
                action, self._on_drained = self._on_drained, None
                action()
