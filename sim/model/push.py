"""Push: direct fan-out from the publisher, and a broker in between.

A :class:`Pusher` POSTs (event, subscriber) pairs in FIFO order with at most
``concurrency`` calls in flight. A call ends when the subscriber's reply
arrives, which is after a worker has handled the event, or when the caller
gives up after ``timeout_s``. A call given up on still reaches the
subscriber, which handles it (the request was sent); only the caller stops
waiting. Retrying is not modelled here.

Direct fan-out is one pusher at the publisher shared by all subscribers; a
broker is one pusher per subscriber, fed by one POST from the publisher.
"""

from __future__ import annotations

from collections import deque

import simpy

from sim.model.engine import Sampler, later
from sim.model.ledger import (
    BROKER,
    BROKER_SUBSCRIBERS,
    PUBLISHER,
    PUBLISHER_BROKER,
    PUBLISHER_SUBSCRIBERS,
    SUBSCRIBERS,
    Ledger,
)
from sim.model.subscriber import Subscriber


class _Call:
    __slots__ = ("event", "subscriber", "open")

    def __init__(self, event: int, subscriber: int):
        self.event = event
        self.subscriber = subscriber
        self.open = True


class Pusher:
    """Sends events to subscribers over HTTP with bounded concurrency."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        concurrency: int,
        timeout_s: float,
        sender: int,
        link: int,
        subscribers: list[Subscriber],
        payload_bytes: list[int],
        delay_s: Sampler,
        ledger: Ledger,
    ):
        self.env = env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.sender = sender
        self.link = link
        self.subscribers = subscribers
        self.payload_bytes = payload_bytes
        self.delay_s = delay_s
        self.ledger = ledger
        self.in_flight = 0
        self.queue: deque[tuple[int, int]] = deque()

    def push(self, event: int, subscriber: int) -> None:
        self.queue.append((event, subscriber))
        self._pump()

    def _pump(self) -> None:
        while self.in_flight < self.concurrency and self.queue:
            call = _Call(*self.queue.popleft())
            self.in_flight += 1
            later(self.env, self.delay_s(), self._arrive, call)
            later(self.env, self.timeout_s, self._give_up, call)

    def _arrive(self, call: _Call) -> None:
        body = self.payload_bytes[call.event]
        self.ledger.exchange(self.env.now, self.link, self.sender, SUBSCRIBERS, body, 0)
        self.subscribers[call.subscriber].submit(
            call.event, lambda: later(self.env, self.delay_s(), self._reply, call)
        )

    def _reply(self, call: _Call) -> None:
        if call.open:
            call.open = False
            self.in_flight -= 1
            self._pump()

    def _give_up(self, call: _Call) -> None:
        if call.open:
            call.open = False
            self.ledger.timeout(self.env.now)
            self.in_flight -= 1
            self._pump()


def fanout(env, strategy, subscribers, payload_bytes, delay_s, ledger):
    """The publisher itself calls every subscriber for every event."""
    pusher = Pusher(
        env,
        concurrency=strategy.concurrency,
        timeout_s=strategy.timeout_s,
        sender=PUBLISHER,
        link=PUBLISHER_SUBSCRIBERS,
        subscribers=subscribers,
        payload_bytes=payload_bytes,
        delay_s=delay_s,
        ledger=ledger,
    )
    indices = range(len(subscribers))

    def on_publish(event: int) -> None:
        for s in indices:
            pusher.push(event, s)

    return on_publish


class BrokerModel:
    """A broker: accepts each event once, then pushes it to every subscriber.

    The broker acknowledges the publisher's POST as soon as it has the event.
    After ``dispatch_delay_s`` it queues the event for each subscriber; each
    subscription has its own pusher, so one slow subscriber does not hold up
    the others.
    """

    def __init__(self, env, strategy, subscribers, payload_bytes, delay_s, ledger):
        self.env = env
        self.dispatch_delay_s = strategy.dispatch_delay_s
        self.payload_bytes = payload_bytes
        self.delay_s = delay_s
        self.ledger = ledger
        self.pushers = [
            Pusher(
                env,
                concurrency=strategy.push_concurrency,
                timeout_s=strategy.timeout_s,
                sender=BROKER,
                link=BROKER_SUBSCRIBERS,
                subscribers=subscribers,
                payload_bytes=payload_bytes,
                delay_s=delay_s,
                ledger=ledger,
            )
            for _ in subscribers
        ]

    def on_publish(self, event: int) -> None:
        later(self.env, self.delay_s(), self._accept, event)

    def _accept(self, event: int) -> None:
        body = self.payload_bytes[event]
        self.ledger.exchange(self.env.now, PUBLISHER_BROKER, PUBLISHER, BROKER, body, 0)
        if self.dispatch_delay_s:
            later(self.env, self.dispatch_delay_s, self._dispatch, event)
        else:
            self._dispatch(event)

    def _dispatch(self, event: int) -> None:
        for s, pusher in enumerate(self.pushers):
            pusher.push(event, s)
