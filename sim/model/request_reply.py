"""Request-reply: a caller that needs an answer from one of the services.

Each event is a request from the publisher (the caller) that one subscriber
instance must answer; instances take requests in turn (round robin, as
behind a load balancer). Two transports:

- ``http``: the caller POSTs the request to an instance, which answers with
  the reply once a worker has handled it: one exchange, one round trip;
- ``messaging``: the caller POSTs the request, with a correlation id and a
  reply channel, to a broker, which pushes it to an instance; the instance
  handles it, POSTs the reply to the broker and acknowledges the request;
  the broker pushes the reply to the caller's endpoint. Four exchanges.

Round-trip latency runs from the request's publication to the reply in the
caller's hands. Failures and retries of the request leg follow the
strategy's retry policy (a reply leg, broker to caller, is not failed).
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.model.engine import later
from sim.model.ledger import (
    BROKER,
    BROKER_SUBSCRIBERS,
    PUBLISHER,
    PUBLISHER_BROKER,
    PUBLISHER_SUBSCRIBERS,
    SUBSCRIBERS,
)
from sim.model.push import Pusher


class RoundTrips:
    """Round-trip latency of every request of the window."""

    def __init__(self, times: np.ndarray, first: int, count: int):
        self._times = times
        self._first = first
        self.round_trip_s = np.full(count, np.nan)

    def replied(self, event: int, now: float) -> None:
        k = event - self._first
        if 0 <= k < self.round_trip_s.size and np.isnan(self.round_trip_s[k]):
            self.round_trip_s[k] = now - self._times[event]


class RequestReplyModel:
    """Requests from the caller, and replies back to it."""

    def __init__(
        self, env: simpy.Environment, strategy, subscribers, round_trips, legs, **parts
    ):
        self.env = env
        self.strategy = strategy
        self.n = len(subscribers)
        self.round_trips = round_trips
        self.ledger = parts["ledger"]
        self.publish_times = parts["publish_times"]
        self.legs = legs
        messaging = strategy.transport == "messaging"
        link = BROKER_SUBSCRIBERS if messaging else PUBLISHER_SUBSCRIBERS

        def pusher() -> Pusher:
            return Pusher(
                env,
                strategy=strategy,
                window=strategy.concurrency,
                adaptive=False,
                sender=BROKER if messaging else PUBLISHER,
                link=link,
                subscribers=subscribers,
                delay_s=legs[link],
                on_acknowledged=self._replied_via_broker
                if messaging
                else self._replied,
                **parts,
            )

        # the caller bounds its own calls; a broker bounds each instance's
        self.pushers = [pusher() for _ in subscribers] if messaging else [pusher()]
        self.payload_bytes = parts["payload_bytes"]
        self.on_publish = self._to_broker if messaging else self._call

    # -- http -------------------------------------------------------------------

    def _call(self, event: int) -> None:
        self.pushers[0].push(event, event % self.n)

    def _replied(self, event: int) -> None:
        # the 2xx carried the reply
        self.ledger.response_body(
            self.publish_times[event],
            PUBLISHER_SUBSCRIBERS,
            SUBSCRIBERS,
            PUBLISHER,
            self.strategy.reply_bytes,
        )
        self.round_trips.replied(event, self.env.now)

    # -- messaging ----------------------------------------------------------------

    def _to_broker(self, event: int) -> None:
        later(self.env, self.legs[PUBLISHER_BROKER](), self._queued, event)

    def _queued(self, event: int) -> None:
        at = self.publish_times[event]
        body = self.payload_bytes[event]
        self.ledger.exchange(at, PUBLISHER_BROKER, PUBLISHER, BROKER, body, 0)
        instance = event % self.n
        later(
            self.env,
            self.strategy.dispatch_delay_s,
            self.pushers[instance].push,
            event,
            instance,
        )

    def _replied_via_broker(self, event: int) -> None:
        # The instance POSTed the reply before acknowledging the request, so
        # both reach the broker together; the broker then pushes the reply.
        at = self.publish_times[event]
        reply = self.strategy.reply_bytes
        self.ledger.exchange(at, BROKER_SUBSCRIBERS, SUBSCRIBERS, BROKER, reply, 0)
        delay = self.strategy.dispatch_delay_s + self.legs[PUBLISHER_BROKER]()
        later(self.env, delay, self._delivered_to_caller, event)

    def _delivered_to_caller(self, event: int) -> None:
        at = self.publish_times[event]
        reply = self.strategy.reply_bytes
        self.ledger.exchange(at, PUBLISHER_BROKER, BROKER, PUBLISHER, reply, 0)
        self.round_trips.replied(event, self.env.now)
