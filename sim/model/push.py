"""Push: direct fan-out from the publisher, and a broker in between.

A :class:`Pusher` POSTs deliveries (an event for one subscriber) in FIFO
order with at most ``window`` calls in flight. A call ends when the
subscriber's answer arrives (2xx once a worker has handled the event), when
the connection is refused, or when the caller gives up after ``timeout_s``.
A call given up on still reaches the subscriber, which handles it; only the
caller stops waiting, and a retry may then deliver the event twice.

What the caller learns decides what happens next: 2xx ends the delivery; a
400 is not retried; a refused connection, a timeout, 429, 500 and 503 are
retried under the strategy's retry policy (honouring Retry-After if the
policy says so) until its attempts or time to live run out, when the
delivery is dead-lettered.

Direct fan-out is one pusher at the publisher shared by all subscribers; a
broker is one pusher per subscriber, fed by one POST from the publisher.

Everything a delivery costs (attempts, failures, retries, give-ups) is
booked to the instant its event was published, so the window's events carry
their whole cost even when an overloaded subscriber handles them after the
window, during the drain.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.engine import Sampler, at_place, later, reserve
from sim.model.ledger import (
    BROKER,
    BROKER_SUBSCRIBERS,
    PUBLISHER,
    PUBLISHER_BROKER,
    PUBLISHER_SUBSCRIBERS,
    SUBSCRIBERS,
    Ledger,
)
from sim.errors import RunTooLarge
from sim.model.retry import Backoff
from sim.scenario import MAX_WORK_PER_RUN
from sim.model.subscriber import OK, REJECTED, Deliveries, Subscriber

REFUSED = 0  # not an HTTP status: the connection was refused
MAX_ATTEMPTS_PER_RUN = MAX_WORK_PER_RUN


class _Delivery:
    """One event on its way to one subscriber, across its attempts."""

    __slots__ = ("event", "subscriber", "attempt", "previous_delay_s", "waiting")

    def __init__(self, event: int, subscriber: int):
        self.event = event
        self.subscriber = subscriber
        self.attempt = 0
        self.previous_delay_s: float | None = None
        self.waiting = False  # the current attempt awaits its answer


class Pusher:
    """Sends deliveries to subscribers over HTTP with a bounded window."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        strategy,
        window: int,
        adaptive: bool,
        sender: int,
        link: int,
        subscribers: list[Subscriber],
        publish_times: list[float],
        payload_bytes: list[int],
        delay_s: Sampler,
        ledger: Ledger,
        deliveries: Deliveries,
        rng: np.random.Generator,
        on_acknowledged: Callable[[int], None] | None = None,
    ):
        self.env = env
        self.strategy_name = strategy.name
        self.timeout_s = strategy.timeout_s
        self.policy = strategy.retry
        self.backoff = Backoff(strategy.retry, rng)
        self.max_window = window
        self.window = min(3, window) if adaptive else window
        self.adaptive = adaptive
        self.sender = sender
        self.link = link
        self.subscribers = subscribers
        self.publish_times = publish_times
        self.payload_bytes = payload_bytes
        self.delay_s = delay_s
        self.ledger = ledger
        self.deliveries = deliveries
        self.on_acknowledged = on_acknowledged
        self.in_flight = 0
        self.queue: deque[_Delivery] = deque()
        # Attempts awaiting an answer, oldest first, with the place in the
        # event queue of their timeout. Only the oldest still waiting has
        # its timeout in the queue: an answered attempt's timeout would do
        # nothing, so most are never scheduled.
        self._deadlines: deque[tuple[tuple[float, int], _Delivery, int]] = deque()
        self._timer_set = False

    def push(self, event: int, subscriber: int) -> None:
        self.queue.append(_Delivery(event, subscriber))
        self._pump()

    def _pump(self) -> None:
        while self.in_flight < self.window and self.queue:
            d = self.queue.popleft()
            d.attempt += 1
            self.ledger.attempts += 1
            if self.ledger.attempts > MAX_ATTEMPTS_PER_RUN:
                raise RunTooLarge(
                    f"strategy {self.strategy_name!r}: more than "
                    f"{MAX_ATTEMPTS_PER_RUN:,} delivery attempts in one run; its "
                    "retry policy keeps retrying against subscribers that do not "
                    "answer: give it fewer attempts, longer delays or a time to live"
                )
            d.waiting = True
            self.in_flight += 1
            later(self.env, self.delay_s(), self._arrive, d)
            self._deadlines.append((reserve(self.env, self.timeout_s), d, d.attempt))
            if not self._timer_set:
                self._set_timer()

    def _arrive(self, d: _Delivery) -> None:
        now = self.env.now
        at = self.publish_times[d.event]
        subscriber = self.subscribers[d.subscriber]
        failure = subscriber.connection(now)
        if failure is not None:
            refused = failure == "refuse"
            self.ledger.connect_failed(at, self.sender, refused)
            if refused:
                later(
                    self.env, self.delay_s(), self._answer, d, d.attempt, REFUSED, None
                )
            return

        body = self.payload_bytes[d.event]
        self.ledger.request(
            at, self.link, self.sender, SUBSCRIBERS, body, d.attempt > 1
        )
        attempt = d.attempt
        subscriber.receive(
            d.event,
            lambda status, retry_after: later(
                self.env, self.delay_s(), self._answer, d, attempt, status, retry_after
            ),
        )

    def _answer(
        self, d: _Delivery, attempt: int, status: int, retry_after: float | None
    ) -> None:
        if not (d.waiting and d.attempt == attempt):
            return  # the caller stopped waiting for this attempt
        d.waiting = False
        self.in_flight -= 1
        if status != OK and status != REFUSED:
            self.ledger.error_response(self.publish_times[d.event], status)
        if status == OK:
            self._adapt(success=True)
            if self.on_acknowledged is not None:
                self.on_acknowledged(d.event)
        elif status == REJECTED:
            self._adapt(success=False)
            self._give_up(d)
        else:
            self._adapt(success=False)
            self._retry(d, retry_after)
        self._pump()

    def _set_timer(self) -> None:
        """Put the timeout of the oldest attempt still waiting in the queue."""
        deadlines = self._deadlines
        while deadlines:
            place, d, attempt = deadlines[0]
            if d.waiting and d.attempt == attempt:
                at_place(self.env, place, self._deadline)
                self._timer_set = True
                return
            deadlines.popleft()
        self._timer_set = False

    def _deadline(self) -> None:
        _, d, attempt = self._deadlines.popleft()
        self._set_timer()
        self._timed_out(d, attempt)

    def _timed_out(self, d: _Delivery, attempt: int) -> None:
        if not (d.waiting and d.attempt == attempt):
            return
        d.waiting = False
        self.in_flight -= 1
        self.ledger.timeout(self.publish_times[d.event])
        self._adapt(success=False)
        self._retry(d, None)
        self._pump()

    def _retry(self, d: _Delivery, retry_after: float | None) -> None:
        policy = self.policy
        if d.attempt >= policy.max_attempts:
            self._give_up(d)
            return
        delay = self.backoff.delay(d.attempt, d.previous_delay_s)
        d.previous_delay_s = delay
        if retry_after is not None and policy.honour_retry_after:
            delay = max(delay, retry_after)
        published = self.publish_times[d.event]
        if policy.ttl_s is not None and self.env.now + delay - published > policy.ttl_s:
            self._give_up(d)
            return
        self.ledger.retry(published)
        later(self.env, delay, self._requeue, d)

    def _requeue(self, d: _Delivery) -> None:
        self.queue.append(d)
        self._pump()

    def _give_up(self, d: _Delivery) -> None:
        self.ledger.dead_letter(self.publish_times[d.event])
        subscriber = self.subscribers[d.subscriber]
        self.deliveries.abandon(d.event, subscriber.slot, subscriber.holds(d.event))

    def _adapt(self, success: bool) -> None:
        if not self.adaptive:
            return
        if success:
            self.window = min(self.max_window, self.window + 1)
        else:
            self.window = max(1, self.window // 2)


def fanout(env, strategy, subscribers, wants, legs, **parts):
    """The publisher itself calls every subscriber that wants the event."""
    pusher = Pusher(
        env,
        strategy=strategy,
        window=strategy.concurrency,
        adaptive=False,
        sender=PUBLISHER,
        link=PUBLISHER_SUBSCRIBERS,
        subscribers=subscribers,
        delay_s=legs[PUBLISHER_SUBSCRIBERS],
        **parts,
    )
    indices = range(len(subscribers))

    def on_publish(event: int) -> None:
        for s in indices:
            if wants is None or wants[event, s]:
                pusher.push(event, s)

    return on_publish


class BrokerModel:
    """A broker: accepts each event once, then pushes it to every subscriber.

    The broker acknowledges the publisher's POST as soon as it has the event.
    After ``dispatch_delay_s`` it queues the event for each subscriber; each
    subscription has its own pusher, so one slow subscriber does not hold up
    the others.
    """

    def __init__(self, env, strategy, subscribers, wants, legs, **parts):
        self.env = env
        self.publish_times = parts["publish_times"]
        self.dispatch_delay_s = strategy.dispatch_delay_s
        self.payload_bytes = parts["payload_bytes"]
        self.delay_s = legs[PUBLISHER_BROKER]
        self.ledger = parts["ledger"]
        self.wants = wants
        self.pushers = [
            Pusher(
                env,
                strategy=strategy,
                window=strategy.push_concurrency,
                adaptive=strategy.push_window == "adaptive",
                sender=BROKER,
                link=BROKER_SUBSCRIBERS,
                subscribers=subscribers,
                delay_s=legs[BROKER_SUBSCRIBERS],
                **parts,
            )
            for _ in subscribers
        ]

    def on_publish(self, event: int) -> None:
        later(self.env, self.delay_s(), self._accept, event)

    def _accept(self, event: int) -> None:
        body = self.payload_bytes[event]
        at = self.publish_times[event]
        self.ledger.exchange(at, PUBLISHER_BROKER, PUBLISHER, BROKER, body, 0)
        if self.dispatch_delay_s:
            later(self.env, self.dispatch_delay_s, self._dispatch, event)
        else:
            self._dispatch(event)

    def _dispatch(self, event: int) -> None:
        # the broker applies each subscription's filter before pushing
        wants = self.wants
        for s, pusher in enumerate(self.pushers):
            if wants is None or wants[event, s]:
                pusher.push(event, s)
