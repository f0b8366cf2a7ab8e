"""Consumers that poll the publisher's feed: short polling and long polling.

A consumer polls on behalf of its subscriber and hands each event it
receives to the subscriber's workers. It takes work at its own pace: it does
not poll while a poll is in flight, nor while more than ``prefetch`` events
it received still wait for a worker, so a slow subscriber leaves events
waiting at the source rather than in its own queue. While its subscriber is
down it does not poll; an answer already on its way is still taken. Where
the source wants acknowledgements, the consumer sends one per event or one
per batch once its workers are done, and none for an event whose handling
failed, which the source then hands out again.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.model.engine import Sampler, later
from sim.model.feed import Feed
from sim.model.ledger import PUBLISHER, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, Ledger
from sim.model.subscriber import OK, Subscriber
from sim.scenario import LongPoll, ShortPoll


class _Consumer:
    def __init__(
        self,
        env: simpy.Environment,
        strategy,
        feed: Feed,
        source: int,
        subscriber: Subscriber,
        delay_s: Sampler,
        ledger: Ledger,
        rng: np.random.Generator,
        wants: np.ndarray | None = None,
    ):
        self.env = env
        self.wants = wants
        self.feed = feed
        self.source = source  # this consumer's cursor in the feed
        self.subscriber = subscriber
        self.delay_s = delay_s
        self.ledger = ledger
        self.rng = rng
        self.max_batch = strategy.max_batch
        self.prefetch = strategy.prefetch
        self.ack = strategy.ack
        self.in_flight = False

    def _ready(self) -> bool:
        return not self.in_flight and self.subscriber.backlog <= self.prefetch

    def _send(self) -> None:
        self.in_flight = True
        later(self.env, self.delay_s(), self._arrive)

    def _arrive(self) -> None:
        raise NotImplementedError

    def _answer(self, arrived_at: float, empty: bool = False) -> None:
        """The publisher answers with what is visible for this consumer.

        The poll, request and answer, is booked to the instant it reached
        the publisher; one that comes after the window but carries events of
        the window is booked to the first of them, so that events delivered
        late still carry the polls that fetched them.
        """
        limit = 0 if empty else self.max_batch
        events, body = self.feed.take(self.source, limit)
        at = arrived_at
        if at >= self.ledger.end_s and events:
            at = self.feed.published_at(events[0])
        ledger = self.ledger
        ledger.request(at, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, PUBLISHER, 0)
        ledger.response_body(at, PUBLISHER_SUBSCRIBERS, PUBLISHER, SUBSCRIBERS, body)
        ledger.poll(at, len(events))
        later(self.env, self.delay_s(), self._receive, events)

    def _receive(self, events: list[int]) -> None:
        self.in_flight = False
        wants, me = self.wants, self.subscriber.index
        batch = _Batch(self, events) if self.ack == "per_batch" and events else None
        for event in events:
            respond = None
            if batch is not None:
                respond = batch.respond(event)
            elif self.ack == "per_event":
                respond = self._acknowledger(event)
            # a poller gets every event and drops (and acknowledges) what it
            # does not want
            if wants is None or wants[event, me]:
                self.subscriber.submit(event, respond)
            elif respond is not None:
                respond(OK, None)
        self._received(len(events))

    def _acknowledger(self, event: int):
        def respond(status: int, _retry_after: float | None) -> None:
            if status == OK:
                self._send_ack([event])

        return respond

    def _send_ack(self, events: list[int]) -> None:
        later(self.env, self.delay_s(), self._ack_arrives, events)

    def _ack_arrives(self, events: list[int]) -> None:
        # an acknowledgement belongs to the events it acknowledges
        at = self.feed.published_at(events[0])
        self.ledger.request(at, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, PUBLISHER, 0)
        for event in events:
            self.feed.acknowledge(self.source, event)

    def _received(self, count: int) -> None:
        raise NotImplementedError


class _Batch:
    """A batch received together, acknowledged in one request once every
    event of it is done; an event whose handling failed is left out, so the
    source hands it out again."""

    __slots__ = ("consumer", "pending", "done")

    def __init__(self, consumer: _Consumer, events: list[int]):
        self.consumer = consumer
        self.pending = len(events)
        self.done: list[int] = []

    def respond(self, event: int):
        def respond(status: int, _retry_after: float | None) -> None:
            if status == OK:
                self.done.append(event)
            self.pending -= 1
            if self.pending == 0 and self.done:
                self.consumer._send_ack(self.done)

        return respond


class ShortPollConsumer(_Consumer):
    """Polls every ``interval_s`` on a fixed grid starting at ``phase_s``, or,
    with a backoff, ``interval_s`` to ``max_interval_s`` after each answer.

    A tick that finds the consumer busy or its subscriber down is skipped:
    the consumer never has two polls open.
    """

    def __init__(self, strategy: ShortPoll, phase_s: float, **parts):
        super().__init__(strategy=strategy, **parts)
        self.interval_s = strategy.interval_s
        self.repoll_when_full = strategy.repoll_when_full
        self.false_empty = strategy.false_empty_probability
        self.backoff = strategy.backoff
        self.wait_s = strategy.interval_s
        self.phase_s = phase_s
        self._tick_no = 0
        later(self.env, phase_s, self._tick)

    def _tick(self) -> None:
        polled = self._ready() and not self.subscriber.is_down(self.env.now)
        if polled:
            self._send()
        if self.backoff is None:
            # ticks are computed from the grid, not accumulated, so they never drift
            self._tick_no += 1
            next_tick = self.phase_s + self._tick_no * self.interval_s
            later(self.env, next_tick - self.env.now, self._tick)
        elif not polled:
            later(self.env, self._jittered(self.wait_s), self._tick)

    def _arrive(self) -> None:
        now = self.env.now
        empty = (
            self.false_empty > 0.0
            and self.feed.has_new(self.source)
            and self.rng.random() < self.false_empty
        )
        self._answer(now, empty)

    def _received(self, count: int) -> None:
        if self.repoll_when_full and count == self.max_batch:
            self.subscriber.when_backlog_at_most(self.prefetch, self._repoll)
        elif self.backoff is not None:
            if count:
                self.wait_s = self.interval_s
            else:
                self.wait_s = min(
                    self.backoff.max_interval_s, self.wait_s * self.backoff.multiplier
                )
            later(self.env, self._jittered(self.wait_s), self._tick)

    def _repoll(self) -> None:
        if not self.in_flight and not self.subscriber.is_down(self.env.now):
            self._send()
        elif self.backoff is not None and not self.in_flight:
            later(self.env, self._jittered(self.wait_s), self._tick)

    def _jittered(self, wait_s: float) -> float:
        jitter = self.backoff.jitter if self.backoff is not None else "none"
        if jitter == "full":
            return self.rng.uniform(0.0, wait_s)
        if jitter == "equal":
            return wait_s / 2 + self.rng.uniform(0.0, wait_s / 2)
        return wait_s


class LongPollConsumer(_Consumer):
    """Holds a poll open at the publisher for up to ``wait_s``.

    The publisher answers as soon as anything is new for this consumer, or
    with an empty answer when the wait expires. The consumer polls again as
    soon as its workers have taken what it received (down to ``prefetch``
    waiting), or when its subscriber comes back up.
    """

    def __init__(self, strategy: LongPoll, **parts):
        super().__init__(strategy=strategy, **parts)
        self.wait_s = strategy.wait_s
        self._poll_when_up()

    def _poll_when_up(self) -> None:
        now = self.env.now
        if self.subscriber.is_down(now):
            later(
                self.env,
                self.subscriber.availability.up_at(now) - now,
                self._poll_when_up,
            )
        elif not self.in_flight:
            self._send()

    def _arrive(self) -> None:
        now = self.env.now
        if self.feed.has_new(self.source):
            self._answer(now)
            return
        poll = _HeldPoll(self, now)
        self.feed.wait(poll.wake)
        later(self.env, self.wait_s, poll.expire)

    def _received(self, count: int) -> None:
        self.subscriber.when_backlog_at_most(self.prefetch, self._poll_when_up)


class _HeldPoll:
    """A long poll waiting at the publisher; answered once, by whichever of
    a publish or its expiry comes first."""

    __slots__ = ("consumer", "arrived_at", "open")

    def __init__(self, consumer: LongPollConsumer, arrived_at: float):
        self.consumer = consumer
        self.arrived_at = arrived_at
        self.open = True

    def wake(self) -> bool:
        """Answer if something is new for this consumer; True if answered."""
        if self.open and self.consumer.feed.has_new(self.consumer.source):
            self.open = False
            self.consumer._answer(self.arrived_at)
        return not self.open

    def expire(self) -> None:
        if self.open:
            self.open = False
            self.consumer.feed.cancel(self.wake)
            self.consumer._answer(self.arrived_at)
