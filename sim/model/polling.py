"""Consumers that poll the publisher's feed: short polling and long polling.

A consumer polls on behalf of its subscriber and hands each event it
receives to the subscriber's workers. It takes work at its own pace: it does
not poll while a poll is in flight or while events it received are still
waiting for a worker, so a slow subscriber leaves events waiting at the
source instead of in its own queue.
"""

from __future__ import annotations

import simpy

from sim.model.engine import Sampler, later
from sim.model.feed import Feed
from sim.model.ledger import PUBLISHER, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, Ledger
from sim.model.subscriber import Subscriber
from sim.scenario import LongPoll, ShortPoll


class _Consumer:
    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        feed: Feed,
        subscriber: Subscriber,
        delay_s: Sampler,
        ledger: Ledger,
        max_batch: int,
    ):
        self.env = env
        self.index = index
        self.feed = feed
        self.subscriber = subscriber
        self.delay_s = delay_s
        self.ledger = ledger
        self.max_batch = max_batch
        self.in_flight = False

    def _send(self) -> None:
        self.in_flight = True
        later(self.env, self.delay_s(), self._arrive)

    def _arrive(self) -> None:
        raise NotImplementedError

    def _request_arrives(self, now: float) -> None:
        self.ledger.request(now, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, PUBLISHER, 0)

    def _answer(self, arrived_at: float) -> None:
        """The publisher answers with what is new for this consumer. Like the
        request, the answer counts at the instant the poll reached it."""
        start, stop, body = self.feed.take(self.index, self.max_batch)
        ledger = self.ledger
        ledger.response_body(arrived_at, PUBLISHER_SUBSCRIBERS, PUBLISHER, SUBSCRIBERS, body)
        ledger.poll(arrived_at, stop - start)
        later(self.env, self.delay_s(), self._receive, start, stop)

    def _receive(self, start: int, stop: int) -> None:
        self.in_flight = False
        for event in range(start, stop):
            self.subscriber.submit(event)
        self._received(stop - start)

    def _received(self, count: int) -> None:
        raise NotImplementedError


class ShortPollConsumer(_Consumer):
    """Polls every ``interval_s`` on a fixed grid starting at ``phase_s``.

    A tick that finds the consumer busy (a poll in flight, or events not yet
    taken by a worker) is skipped: the consumer never has two polls open.
    """

    def __init__(self, strategy: ShortPoll, phase_s: float, **parts):
        super().__init__(max_batch=strategy.max_batch, **parts)
        self.interval_s = strategy.interval_s
        self.repoll_when_full = strategy.repoll_when_full
        self.phase_s = phase_s
        self._tick_no = 0
        later(self.env, phase_s, self._tick)

    def _tick(self) -> None:
        if not self.in_flight and not self.subscriber.backlog:
            self._send()
        # ticks are computed from the grid, not accumulated, so they never drift
        self._tick_no += 1
        next_tick = self.phase_s + self._tick_no * self.interval_s
        later(self.env, next_tick - self.env.now, self._tick)

    def _arrive(self) -> None:
        self._request_arrives(self.env.now)
        self._answer(self.env.now)

    def _received(self, count: int) -> None:
        if self.repoll_when_full and count == self.max_batch:
            self.subscriber.when_drained(self._repoll)

    def _repoll(self) -> None:
        if not self.in_flight:
            self._send()


class LongPollConsumer(_Consumer):
    """Holds a poll open at the publisher for up to ``wait_s``.

    The publisher answers as soon as anything is new for this consumer, or
    with an empty answer when the wait expires. The consumer polls again as
    soon as its workers have taken what it received.
    """

    def __init__(self, strategy: LongPoll, **parts):
        super().__init__(max_batch=strategy.max_batch, **parts)
        self.wait_s = strategy.wait_s
        self._send()

    def _arrive(self) -> None:
        self._request_arrives(self.env.now)
        if self.feed.has_new(self.index):
            self._answer(self.env.now)
            return
        poll = _HeldPoll(self, self.env.now)
        self.feed.wait(poll.wake)
        later(self.env, self.wait_s, poll.expire)

    def _received(self, count: int) -> None:
        self.subscriber.when_drained(self._send)


class _HeldPoll:
    """A long poll waiting at the publisher; answered once, by whichever of
    a publish or its expiry comes first."""

    __slots__ = ("consumer", "arrived_at", "open")

    def __init__(self, consumer: LongPollConsumer, arrived_at: float):
        self.consumer = consumer
        self.arrived_at = arrived_at
        self.open = True

    def wake(self) -> None:
        if self.open:
            self.open = False
            self.consumer._answer(self.arrived_at)

    def expire(self) -> None:
        if self.open:
            self.open = False
            self.consumer.feed.cancel(self.wake)
            self.consumer._answer(self.arrived_at)
