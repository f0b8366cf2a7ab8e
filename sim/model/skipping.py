"""Event skipping for pollers: empty polls are counted, not simulated.

Between two instants when something becomes visible at a source (a publish,
an event handed out again after its visibility timeout), every poll of that
source comes back empty, and an empty poll changes nothing but counters: a
request, its framing, its CPU, one more poll. So a consumer that is idle
(no poll open, its subscriber's queue at or below ``prefetch``, nothing
handed out unacknowledged at its source) *parks* instead of polling. While
parked, its polls are a known sequence: short polls on the grid
``phase + k * interval`` (a tick that finds the subscriber down is skipped,
as in the reference model), long polls one after another, each answered
empty when its wait expires. When something becomes visible, the parking
works out which parked poll is the first that can see it, counts the empty
polls before it in closed form (:meth:`Ledger.count_empty_polls`), and hands the
consumer back to the event queue at that poll.

Each consumer draws its network delays from its own stream, two per poll
(request, then answer), so counting polls in bulk consumes exactly the draws
the one-event-per-poll model would have made, in the same order, and the
polls that follow see the same delays. Numpy draws a block of values exactly
as it draws them one by one, so the blocks are read with
:meth:`Sampler.peek` and consumed with :meth:`Sampler.skip`.

Many consumers sharing one source (competing consumers) need not all wake:
only the parked consumer whose next poll reaches the publisher first can
take what became visible, and if it leaves something behind the feed says
so again. With a fixed network delay and subscribers that are never down,
the first such poll is found by a search over the consumers' phases, sorted
modulo the interval; otherwise every parked consumer of the source wakes
(still exact, just slower).

Most events of such a fleet are each delivered alone: the consumer woken
polls, takes the event, hands it to an idle worker, and the worker is done
before anything else happens anywhere (the next publish, any other entry
of the event queue). Such an event need not go through the event queue at
all. :class:`QuietDeliveries` works out its poll's arrival, the answer's
return, the service time and the worker's finish, books the same requests,
bytes, polls and latency the queued steps would book, in the same order
(polls booked together for a run of such events), and leaves every
consumer, worker and counter as those steps would; the feed then
publishes the next event at once if it too comes before anything else in
the queue. Whatever does not fit (two events close together, a
busy worker, a subscriber that must acknowledge) goes through the queue.

Short polls with a backoff are not on a grid: each tick comes a jittered
wait after the last answer, the wait growing after each empty one. Parked,
such a consumer follows the same recurrence outside the queue, reading its
delays and its uniform draws (for the jitter) ahead from its own streams,
with the same sums the queued ticks would make.

What is not skipped: scenarios with a claim-check (an event becomes
visible only when its payload is stored, at an instant the feed does not
know in advance), and fixed delays that make polls meet other events at
the very same instant, where the event queue's own order decides what
happens (:meth:`Scenario.instants_meet`: aligned phases, competing long
polls, a round trip of an interval or more, a fixed service time). Those
run on the reference model; :func:`fallback_reason` says why.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from sim.model.ledger import SUBSCRIBERS
from sim.scenario import LongPoll, Scenario, ShortPoll

# polls examined one by one before numpy takes over, then at most this
# many at once
SCALAR_FIRST = 4
CHUNK = 4096


def fallback_reason(scenario: Scenario, strategy) -> str | None:
    """Why ``strategy`` of ``scenario`` runs on the reference model under
    the fast engine, or None when its empty polls are skipped."""
    if not isinstance(strategy, (ShortPoll, LongPoll)):
        return "not a polling strategy"
    if scenario.simulation.engine == "reference":
        return "simulation.engine is 'reference'"
    if scenario.claim_check is not None:
        return "with a claim-check, events become visible when their payload is stored"
    tie = scenario.instants_meet(strategy)
    if tie is not None:
        return tie
    assert scenario.skips_empty_polls(strategy)
    return None


def first_tick(
    threshold_s: float, offset_s: float, phase_s: float, interval_s: float, k0: int
) -> int:
    """The first tick ``k`` from ``k0`` on with ``phase + k * interval +
    offset`` at or after ``threshold_s`` (finite), computed as the ticks
    themselves are, so that rounding cannot misplace it."""
    k = max(k0, math.ceil((threshold_s - offset_s - phase_s) / interval_s))
    while k > k0 and phase_s + (k - 1) * interval_s + offset_s >= threshold_s:
        k -= 1
    while phase_s + k * interval_s + offset_s < threshold_s:
        k += 1
    return k


def count_in(values: np.ndarray, start: float, end: float) -> int:
    """How many of ``values`` lie in ``[start, end)``."""
    return int(np.count_nonzero((values >= start) & (values < end)))


class Parking:
    """The parked consumers of one source.

    ``fleet`` (competing consumers with a fixed delay and no downtime) wakes
    only the consumer whose next poll arrives first, found by bisecting
    the parked consumers' arrival offsets modulo the interval; otherwise
    every parked consumer wakes when something becomes visible.
    """

    def __init__(self, env, fleet_interval_s: float | None = None):
        self.env = env
        self.fleet = fleet_interval_s is not None
        self._interval_s = fleet_interval_s
        if fleet_interval_s is not None:
            self._tie = 1e-9 * fleet_interval_s
        self._parked: list = []  # consumers (all-wake mode)
        self._keys: list[float] = []  # fleet: arrival offsets, sorted
        self._members: list = []  # fleet: consumers, in the order of _keys
        self._pending = None  # fleet: the consumer woken, until its poll arrives
        self._pending_s = math.inf

    def __len__(self) -> int:
        return len(self._members) if self.fleet else len(self._parked)

    def park(self, consumer) -> None:
        if self.fleet:
            self.arrived(consumer)
            key = consumer.arrival_key
            at = bisect.bisect_right(self._keys, key)
            self._keys.insert(at, key)
            self._members.insert(at, consumer)
        else:
            self._parked.append(consumer)

    def arrived(self, consumer) -> None:
        """A consumer's poll reached the publisher (or it parked again)."""
        if consumer is self._pending:
            self._pending, self._pending_s = None, math.inf

    def visible(self) -> None:
        """Something is visible at the source: wake whoever can take it."""
        now = self.env.now
        if not self.fleet:
            parked, self._parked = self._parked, []
            for consumer in parked:
                consumer.wake(now)
            return
        if not self._members:
            return
        arrival, i, _tick = self._earliest(now)
        if arrival >= self._pending_s:
            return  # the poll already woken gets there first
        del self._keys[i]
        consumer = self._members.pop(i)
        self._pending = consumer
        self._pending_s = consumer.wake(now)

    def finish(self, stop_s: float) -> None:
        """The run stopped: count the polls parked consumers made meanwhile."""
        for consumer in self._members if self.fleet else self._parked:
            consumer.settle(stop_s)

    def _earliest(self, now: float) -> tuple[float, int, int]:
        """The parked consumer whose next poll reaches the publisher first
        at or after ``now``: when, its place in the sorted offsets, and the
        tick of that poll."""
        keys, members, n = self._keys, self._members, len(self._keys)
        interval = self._interval_s
        phase = math.fmod(now, interval)
        at = bisect.bisect_left(keys, phase) % n
        # floating point may misplace an offset by an ulp: near a tie, look
        # at the neighbours too
        tie, before = self._tie, at - 1 if at else n - 1
        near = abs(keys[at] - phase) < tie or abs(keys[before] - phase) < tie
        best = None
        for i in (before, at, (at + 1) % n) if near else (at,):
            c = members[i]
            delay, start = c.fixed_delay_s, c.phase_s
            tick = first_tick(now, delay, start, interval, c._tick_no)
            candidate = (start + tick * interval + delay, i, tick)
            if best is None or candidate < best:
                best = candidate
        return best


def delivers_quietly(scenario: Scenario, strategy) -> bool:
    """Whether lone events of ``strategy`` may skip the event queue (see
    :class:`QuietDeliveries`): competing short pollers woken one at a time,
    whose consumers send nothing but polls and whose subscriber never
    declines or delays an event it has not seen."""
    return (
        isinstance(strategy, ShortPoll)
        and strategy.shared_queue
        and scenario._wakes_one_at_a_time(strategy)
        and strategy.false_empty_probability == 0
        and strategy.ack == "none"
        and strategy.visibility_timeout_s is None
        and not (strategy.repoll_when_full and strategy.max_batch == 1)
        and scenario.claim_check is None
    )


class QuietDeliveries:
    """Delivers events that nothing else can meet on their way without the
    event queue.

    The queued steps of a delivery to a parked competing consumer are: the
    poll reaches the publisher at ``a`` and takes the event; its answer is
    back at ``r = a + delay`` and a free worker starts on it; the worker is
    done at ``f = r + service``. When the source holds just this event, no
    poll is on its way, the consumer's subscriber has a free worker and an
    empty queue, and ``f`` comes before the first entry of the event queue
    and before the next publish, nothing can happen between the publish
    and ``f`` but these steps. :meth:`publish` then does what they would
    do, computing each instant as the queue would (a delay added to the
    instant before it): it counts the consumer's empty polls, takes the
    event from the feed, resumes the consumer's ticks after ``r``, draws
    the service time and records the latency. The polls are booked to the
    ledger once for a run of such events (their CPU then summed in another
    order than one by one, which changes it by rounding only).
    """

    def __init__(self, env, feed, parking: Parking, ledger, deliveries):
        self.env = env
        self.feed = feed
        self.parking = parking
        self.ledger = ledger
        self.deliveries = deliveries
        self.delivered = 0  # events delivered this way, for tests and benchmarks

    def publish(self) -> int:
        """The event just published, and then each next one at its instant
        while it comes before every entry of the event queue: deliver each
        alone if it can be, else wake its consumer as the parking does and
        stop. Returns how many events were published."""
        env, feed, parking, ledger = self.env, self.feed, self.parking, self.ledger
        times, queue, cursor = feed._times, env._queue, feed._cursor
        handled = self.deliveries.handled
        start_s, end_s = ledger.start_s, ledger.end_s
        published = polls = empty = body = 0
        while True:
            published += 1
            now, event = env._now, feed.published - 1
            consumer = None
            if parking._pending is None and cursor[0] == event and parking._members:
                arrival_s, i, tick = parking._earliest(now)
                consumer = parking._members[i]
                subscriber = consumer.subscriber
                if (
                    not subscriber._free
                    or subscriber._queue
                    or subscriber._on_drained is not None
                ):
                    consumer = None
            if consumer is not None:
                delay = consumer.fixed_delay_s
                arrived = now + (arrival_s - now)
                back = arrived + delay
                service = subscriber._service_s
                finished = back + service()
                if (queue and queue[0][0] <= finished) or (
                    event + 1 < len(times) and times[event + 1] <= finished
                ):
                    service.put_back()
                    consumer = None
            if consumer is None:
                break
            # the empty polls before the one that takes the event
            skipped = consumer.skip_ticks(tick)
            polls += skipped
            empty += skipped
            # at `arrived`: the poll takes the event
            cursor[0] = event + 1
            at = arrived if arrived < end_s else times[event]
            if start_s <= at < end_s:
                polls += 1
                body += feed._body[event + 1] - feed._body[event]
            # at `back`: the answer is back and a worker starts; the
            # consumer's ticks resume after `back` (those on the poll's way
            # were skipped) and it parks again. With no visibility timeout
            # no event is handed out twice, so the subscriber's record of
            # handled events, kept to spot duplicates, is not consulted.
            if subscriber._idempotent and subscriber._check_cpu_s:
                ledger.cpu(times[event], SUBSCRIBERS, subscriber._check_cpu_s)
            phase, interval = consumer.phase_s, consumer.interval_s
            k = max(tick + 1, math.ceil((back - phase) / interval))
            while phase + k * interval <= back:
                k += 1
            consumer._tick_no = k
            # at `finished`: the worker is done
            env._now = finished  # the run may end here
            handled(event, subscriber.slot, back)
            env._now = now
            self.delivered += 1
            # the next event, if nothing in the queue comes first
            if feed.published == len(times):
                break
            next_s = times[feed.published]
            if queue and queue[0][0] <= next_s:
                break
            env._now = next_s
            feed.published += 1
        if polls:
            ledger.book_polls(polls, empty, body)
        if consumer is None:
            parking.visible()  # this one goes through the queue
        return published
