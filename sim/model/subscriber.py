"""Subscribers: the services that want every event.

A subscriber runs ``concurrency`` workers. An event handed to it starts at
once on a free worker, or waits in a FIFO queue. Reaction latency ends when
a worker starts on the event in the attempt that succeeds; the service time
that follows is the subscriber's own work, the same under every strategy,
and is not part of it.

With a claim-check, a worker first fetches the event's payload from
storage; its reaction latency ends when the worker has the payload.

Events reach a subscriber two ways. A consumer polling on its behalf hands
them over with :meth:`Subscriber.submit`. A push arrives as an HTTP request
through :meth:`Subscriber.receive`, and its caller waits for the answer:
2xx once a worker has handled the event (the acknowledgement), or an error
status from the faults the scenario gives the subscriber. An outage stops
new requests and polls; work already accepted finishes.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.claim_check import ClaimChecks
from sim.model.engine import Sampler, later
from sim.model.faults import Availability, TokenBucket
from sim.model.ledger import SUBSCRIBERS, Ledger
from sim.scenario import Subscriber as SubscriberSpec

OK, REJECTED, THROTTLED, FAILED, UNAVAILABLE = 200, 400, 429, 500, 503

# respond(status, retry_after_s); never called when the answer is lost
Respond = Callable[[int, float | None], None]


class Deliveries:
    """Reaction latency of every (event, subscriber) pair in the window.

    A pair is settled once it is delivered, or once its sender has given it
    up and no copy of it is still queued or being handled at the subscriber
    (a call that timed out may yet be handled); a pair the subscriber does
    not want is settled from the start. The run may stop once every pair of
    the window is settled.
    """

    def __init__(
        self,
        times: np.ndarray,
        first: int,
        count: int,
        slots: int,
        complete: simpy.Event,
        wanted: np.ndarray | None = None,
    ):
        self._times = times
        self._published = times.tolist()  # scalars read faster from a list
        self._first = first
        self._count = count
        self._slots = slots
        self._complete = complete
        # compact buffers, read and written one item at a time faster than
        # numpy arrays; numpy sees them without a copy
        self._latency = array("d", [math.nan]) * (count * slots)
        self._abandoned = bytearray(count * slots)
        # pairs a subscriber does not want are settled from the start
        self.wanted = wanted
        self._settled = (
            bytearray(count * slots)
            if wanted is None
            else bytearray((~wanted).astype(np.uint8).tobytes())
        )
        self.settled = self._settled.count(1)
        if self.settled == count * slots:
            complete.succeed()

    @property
    def latency_s(self) -> np.ndarray:
        """Reaction latency of each pair, event by event, NaN where none."""
        return np.frombuffer(self._latency, dtype=float)

    def _pair(self, event: int, slot: int) -> int | None:
        k = event - self._first
        return k * self._slots + slot if 0 <= k < self._count else None

    def handled(self, event: int, slot: int, started_s: float) -> None:
        """The first successful handling of ``event`` by ``slot``."""
        k = event - self._first
        if 0 <= k < self._count:
            i = k * self._slots + slot
            self._latency[i] = started_s - self._published[event]
            self._settle(i)

    def abandon(self, event: int, slot: int, copies_pending: bool) -> None:
        """The sender gave up delivering ``event`` to ``slot``."""
        i = self._pair(event, slot)
        if i is not None and math.isnan(self._latency[i]):
            self._abandoned[i] = True
            if not copies_pending:
                self._settle(i)

    def released(self, event: int, slot: int) -> None:
        """The last copy of ``event`` at ``slot`` ended without a delivery."""
        i = self._pair(event, slot)
        if i is not None and self._abandoned[i] and math.isnan(self._latency[i]):
            self._settle(i)

    def published_at(self, event: int) -> float:
        return self._published[event]

    @property
    def n_events(self) -> int:
        """Events of the whole run, in the window or not."""
        return len(self._times)

    def censored_s(self, now: float) -> np.ndarray:
        """How long each pair still on its way at ``now`` has waited so far:
        a lower bound on its reaction latency. Pairs given up with no copy
        left on its way are not on their way and not included."""
        # not settled: not delivered, and not given up with nothing left on
        # its way (a copy of a given-up event may still wait at the subscriber)
        pending = np.frombuffer(self._settled, dtype=np.uint8) == 0
        k = np.flatnonzero(pending) // self._slots
        return now - self._times[self._first + k]

    def _settle(self, i: int) -> None:
        if not self._settled[i]:
            self._settled[i] = 1
            self.settled += 1
            if self.settled == self._count * self._slots:
                self._complete.succeed()


class EventSet:
    """The events a subscriber has handled, for spotting duplicates.

    A set while it is small; once it holds more than a fortieth of the
    run's events, a byte per event costs less memory (a set spends about 50
    bytes on each member), and it becomes one.
    """

    __slots__ = ("_events", "_flags", "_limit", "_size")

    def __init__(self, n_events: int):
        self._events: set[int] | None = set()
        self._flags: bytearray | None = None
        self._size = n_events
        self._limit = n_events // 40

    def __contains__(self, event: int) -> bool:
        if self._flags is not None:
            return self._flags[event] == 1
        return event in self._events

    def add(self, event: int) -> None:
        if self._flags is not None:
            self._flags[event] = 1
            return
        self._events.add(event)
        if len(self._events) > self._limit:
            self._to_flags()

    def _to_flags(self) -> None:
        flags = bytearray(self._size)
        for event in self._events:
            flags[event] = 1
        self._flags, self._events = flags, None


class Subscriber:
    """One subscriber's workers, queue, faults and record of handled events."""

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        spec: SubscriberSpec,
        service_s: Sampler,
        deliveries: Deliveries,
        ledger: Ledger,
        availability: Availability,
        rng: np.random.Generator,
        slot: int | None = None,
        claim_checks: ClaimChecks | None = None,
    ):
        self.env = env
        self.index = index
        self.slot = index if slot is None else slot
        self.availability = availability
        self._free = spec.concurrency
        self._service_s = service_s
        self._deliveries = deliveries
        self._ledger = ledger
        self._rng = rng
        self._faults = spec.faults
        self._idempotent = spec.idempotent
        self._check_cpu_s = spec.cpu_s_per_idempotency_check
        limit = spec.faults.rate_limit_per_s
        self._bucket = (
            None if limit is None else TokenBucket(limit, spec.faults.rate_limit_burst)
        )
        self._queue: deque[tuple[int, Respond | None]] = deque()
        self._done = EventSet(deliveries.n_events)
        self._copies: dict[int, int] = {}  # event -> copies queued or in service
        self._on_drained: tuple[int, Callable[[], None]] | None = None
        self._claims = claim_checks

    @property
    def backlog(self) -> int:
        """Events handed over but not yet started."""
        return len(self._queue)

    @property
    def awaits_drain(self) -> bool:
        """Someone waits for the backlog to come down (see
        :meth:`when_backlog_at_most`)."""
        return self._on_drained is not None

    def is_down(self, now: float) -> bool:
        return self.availability.is_down(now)

    # -- pull: a consumer hands events over -----------------------------------

    def submit(self, event: int, respond: Respond | None = None) -> None:
        """Hand over an event a consumer received. A consumer that must
        acknowledge what it handled passes ``respond``: it is told OK once a
        worker has handled the event, or FAILED (and then does not
        acknowledge, so the source hands the event out again)."""
        self._enqueue(event, respond)

    def when_backlog_at_most(self, limit: int, action: Callable[[], None]) -> None:
        """Run ``action`` once, as soon as at most ``limit`` events wait."""
        if len(self._queue) <= limit:
            action()
        else:
            self._on_drained = (limit, action)

    # -- push: an HTTP request arrives ----------------------------------------

    def connection(self, now: float) -> str | None:
        """How a connection attempt fares: None when it is accepted, else the
        transport failure (``"refuse"`` or ``"blackhole"``)."""
        if self._faults.when_down != "503" and self.availability.is_down(now):
            return self._faults.when_down
        return None

    def receive(self, event: int, respond: Respond) -> None:
        """A push of ``event`` arrived on an accepted connection."""
        now = self.env.now
        faults = self._faults
        if self.availability.is_down(now):
            respond(UNAVAILABLE, faults.retry_after_s)
        elif self._bucket is not None and not self._bucket.admit(now):
            respond(THROTTLED, faults.retry_after_s)
        elif (
            faults.error_4xx_probability
            and self._rng.random() < faults.error_4xx_probability
        ):
            respond(REJECTED, None)
        elif (
            faults.queue_limit is not None
            and not self._free
            and len(self._queue) >= faults.queue_limit
        ):
            respond(UNAVAILABLE, faults.retry_after_s)
        else:
            self._enqueue(event, respond)

    # -- workers ----------------------------------------------------------------

    def holds(self, event: int) -> bool:
        """Whether a copy of ``event`` is queued or being handled here."""
        return event in self._copies

    def _enqueue(self, event: int, respond: Respond | None) -> None:
        self._copies[event] = self._copies.get(event, 0) + 1
        if self._free:
            self._start(event, respond)
        else:
            self._queue.append((event, respond))

    def _start(self, event: int, respond: Respond | None) -> None:
        if self._idempotent:
            published = self._deliveries.published_at(event)
            if self._check_cpu_s:
                self._ledger.cpu(published, SUBSCRIBERS, self._check_cpu_s)
            if event in self._done:
                # a duplicate found in the idempotency record: answered at once
                self._ledger.duplicate(published)
                self._release(event)
                if respond is not None:
                    self._acknowledge(respond)
                return
        self._free -= 1
        if self._claims is not None and self._claims.claimed[event]:
            fetch_s = self._claims.fetch_s(event, self._deliveries.published_at(event))
            later(self.env, fetch_s, self._begin, event, respond)
        else:
            self._begin(event, respond)

    def _begin(self, event: int, respond: Respond | None) -> None:
        """The worker has the event (and its payload): handling starts."""
        later(self.env, self._service_s(), self._finish, event, respond, self.env.now)

    def _finish(self, event: int, respond: Respond | None, started_s: float) -> None:
        self._free += 1
        self._release(event)
        faults = self._faults
        if (
            respond is not None
            and faults.error_5xx_probability
            and self._rng.random() < faults.error_5xx_probability
        ):
            if event not in self._copies:
                self._deliveries.released(event, self.slot)
            respond(FAILED, None)
        else:
            if event in self._done:
                self._ledger.duplicate(self._deliveries.published_at(event))
            else:
                self._done.add(event)
                self._deliveries.handled(event, self.slot, started_s)
            if respond is not None:
                self._acknowledge(respond)
        self._next()

    def _release(self, event: int) -> None:
        left = self._copies[event] - 1
        if left:
            self._copies[event] = left
        else:
            del self._copies[event]

    def _acknowledge(self, respond: Respond) -> None:
        loss = self._faults.ack_loss_probability
        if not (loss and self._rng.random() < loss):
            respond(OK, None)

    def _next(self) -> None:
        while self._free and self._queue:
            self._start(*self._queue.popleft())
        if self._on_drained is not None and len(self._queue) <= self._on_drained[0]:
            (_, action), self._on_drained = self._on_drained, None
            action()
