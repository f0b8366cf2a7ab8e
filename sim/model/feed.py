"""The publisher's feed: the queue of published events that consumers poll.

Each consumer reads its own source, so every consumer gets every event (one
queue per subscription, as with SQS queues subscribed to a topic, or a feed
read with an offset); with a shared queue all consumers read one source and
each event goes to whichever takes it first (competing consumers). A long
poll that finds nothing new registers to be woken when something is.

With a visibility timeout the source behaves as SQS or a Service Bus
peek-lock: an event handed out is hidden, not removed, until the consumer
acknowledges it; if no acknowledgement has arrived when the timeout
expires, the event becomes visible again, is handed out again, and its
subscriber may handle it twice. Without one, an event handed out is gone.

A source may have a *parking* (see :mod:`sim.model.skipping`): consumers
whose polls can only come back empty wait there instead of polling, and
the feed tells the parking whenever something becomes visible at the
source, before it wakes the long polls held open.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.engine import later

# a waiting long poll: answers if it can, and says whether it did
Waiter = Callable[[], bool]


class Feed:
    """Published events as seen by the publisher's poll endpoint."""

    def __init__(
        self,
        env: simpy.Environment,
        publish_times: list[float],
        payload_bytes: np.ndarray,
        sources: int,
        visibility_timeout_s: float | None = None,
        on_redelivery: Callable[[int], None] | None = None,
    ):
        self.env = env
        self._times = publish_times
        self._sizes = payload_bytes.tolist()
        # prefix sums give a run of new events' body size without a loop
        self._body = np.concatenate([[0], np.cumsum(payload_bytes)]).tolist()
        self._cursor = [0] * sources
        self._visible_again: list[deque[int]] = [deque() for _ in range(sources)]
        self._leases: list[dict[int, int]] = [{} for _ in range(sources)]
        self._visibility_s = visibility_timeout_s
        self._on_redelivery = on_redelivery
        self._answers = 0
        # long polls held open, in the order they reached the publisher
        self._waiters: list[tuple[float, Waiter]] = []
        self.parkings: list | None = None
        self.alone = None  # QuietDeliveries, for competing short pollers
        self.published = 0

    def publish(self) -> int:
        """The next event is now available; wake the waiting long polls.

        A waiter answers only if something is new for it (with a shared
        queue, an earlier waiter may have taken the event); one that does
        not answer keeps waiting.

        Returns how many events were published: a feed whose events may be
        delivered without the event queue (see
        :class:`sim.model.skipping.QuietDeliveries`) publishes the events
        that follow at once too, at their instants, while they can be.
        """
        self.published += 1
        if self.alone is not None:
            return self.alone.publish()
        if self.parkings is not None:
            for parking in self.parkings:
                parking.visible()
        self._wake()
        return 1

    def published_at(self, event: int) -> float:
        return self._times[event]

    def quiet(self, source: int) -> bool:
        """Nothing visible at ``source`` and nothing can become visible
        there before the next publish: no event is handed out unacknowledged."""
        return (
            self._cursor[source] == self.published
            and not self._visible_again[source]
            and not self._leases[source]
        )

    def has_new(self, source: int) -> bool:
        return self._cursor[source] < self.published or bool(
            self._visible_again[source]
        )

    def take(self, source: int, max_batch: int) -> tuple[list[int], int]:
        """Hand ``source``'s oldest visible events out, at most ``max_batch``:
        those visible again first, then new ones. Returns them and the size
        of their bodies."""
        again = self._visible_again[source]
        events = [again.popleft() for _ in range(min(max_batch, len(again)))]
        body = sum(self._sizes[e] for e in events)
        start = self._cursor[source]
        stop = min(self.published, start + max_batch - len(events))
        if stop > start:
            events.extend(range(start, stop))
            body += self._body[stop] - self._body[start]
            self._cursor[source] = stop
        if self._visibility_s is not None and events:
            self._lease(source, events)
        if self.parkings is not None and self.has_new(source):
            self.parkings[source].visible()
        return events, body

    def acknowledge(self, source: int, event: int) -> None:
        """The consumer is done with ``event``: remove it for good. An
        acknowledgement that comes after the event became visible again
        changes nothing; the event will be handed out again."""
        self._leases[source].pop(event, None)

    def wait(self, wake: Waiter, arrived_at: float) -> None:
        """Hold a long poll that reached the publisher at ``arrived_at``;
        held polls are answered in the order they arrived."""
        waiters = self._waiters
        if not waiters or waiters[-1][0] <= arrived_at:
            waiters.append((arrived_at, wake))
        else:
            at = bisect.bisect_right(waiters, arrived_at, key=lambda w: w[0])
            waiters.insert(at, (arrived_at, wake))

    def cancel(self, wake: Waiter) -> None:
        for i, (_, held) in enumerate(self._waiters):
            if held == wake:
                del self._waiters[i]
                return

    def _lease(self, source: int, events: list[int]) -> None:
        self._answers += 1
        answer = self._answers
        leases = self._leases[source]
        for event in events:
            leases[event] = answer
        later(self.env, self._visibility_s, self._expire, source, events, answer)

    def _expire(self, source: int, events: list[int], answer: int) -> None:
        leases = self._leases[source]
        expired = [e for e in events if leases.get(e) == answer]
        for event in expired:
            del leases[event]
            self._visible_again[source].append(event)
            if self._on_redelivery is not None:
                self._on_redelivery(event)
        if expired:
            if self.parkings is not None:
                self.parkings[source].visible()
            self._wake()

    def _wake(self) -> None:
        if self._waiters:
            self._waiters = [w for w in self._waiters if not w[1]()]
