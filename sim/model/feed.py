"""The publisher's feed: the log of published events that consumers poll.

Each consumer has its own cursor, so every consumer gets every event once
(one queue per subscription, as with SQS queues subscribed to a topic or a
feed read with an offset); with a shared queue all consumers read one cursor
and each event goes to whichever takes it first (competing consumers). A long poll that finds nothing new registers to
be woken by the next publish.
"""

from __future__ import annotations

from collections.abc import Callable

# a waiting long poll: answers if it can, and says whether it did
Waiter = Callable[[], bool]

import numpy as np


class Feed:
    """Published events as seen by the publisher's poll endpoint."""

    def __init__(self, payload_bytes: np.ndarray, consumers: int):
        # prefix sums give any batch's body size without summing a slice
        self._body = np.concatenate([[0], np.cumsum(payload_bytes)]).tolist()
        self._cursor = [0] * consumers
        self._waiters: list[Waiter] = []
        self.published = 0

    def publish(self) -> None:
        """The next event is now available; wake the waiting long polls.

        A waiter answers only if something is new for it (with a shared
        queue, an earlier waiter may have taken the event); one that does
        not answer keeps waiting.
        """
        self.published += 1
        if self._waiters:
            self._waiters = [wake for wake in self._waiters if not wake()]

    def has_new(self, consumer: int) -> bool:
        return self._cursor[consumer] < self.published

    def take(self, consumer: int, max_batch: int) -> tuple[int, int, int]:
        """Hand ``consumer`` its oldest unseen events, at most ``max_batch``.

        Returns the half-open range of event indices and the body size.
        """
        start = self._cursor[consumer]
        stop = min(self.published, start + max_batch)
        self._cursor[consumer] = stop
        return start, stop, self._body[stop] - self._body[start]

    def wait(self, wake: Waiter) -> None:
        self._waiters.append(wake)

    def cancel(self, wake: Waiter) -> None:
        self._waiters.remove(wake)
