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
"""

from __future__ import annotations

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
        self._waiters: list[Waiter] = []
        self.published = 0

    def publish(self) -> None:
        """The next event is now available; wake the waiting long polls.

        A waiter answers only if something is new for it (with a shared
        queue, an earlier waiter may have taken the event); one that does
        not answer keeps waiting.
        """
        self.published += 1
        self._wake()

    def published_at(self, event: int) -> float:
        return self._times[event]

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
        return events, body

    def acknowledge(self, source: int, event: int) -> None:
        """The consumer is done with ``event``: remove it for good. An
        acknowledgement that comes after the event became visible again
        changes nothing; the event will be handed out again."""
        self._leases[source].pop(event, None)

    def wait(self, wake: Waiter) -> None:
        self._waiters.append(wake)

    def cancel(self, wake: Waiter) -> None:
        self._waiters.remove(wake)

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
            self._wake()

    def _wake(self) -> None:
        if self._waiters:
            self._waiters = [wake for wake in self._waiters if not wake()]
