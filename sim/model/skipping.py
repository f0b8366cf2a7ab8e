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

What is not skipped: short polling with a backoff (the wait after an empty
poll changes, and jitter draws from the consumer's stream), scenarios with
a claim-check (an event becomes visible only when its payload is stored, at
an instant the feed does not know in advance), and competing consumers
with aligned phases and a fixed delay (their polls reach the queue at the
same instants, and the event queue's own order picks which one takes an
event). Those run on the reference model; :func:`fallback_reason` says why.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

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
    if isinstance(strategy, ShortPoll) and strategy.backoff is not None:
        return "short polling with a backoff changes its wait after each empty poll"
    if scenario.claim_check is not None:
        return "with a claim-check, events become visible when their payload is stored"
    if scenario._polls_tie(strategy):
        return (
            "competing consumers polling at the same instants: the event queue's "
            "order decides which takes an event"
        )
    assert scenario.skips_empty_polls(strategy)
    return None


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
        i, arrival = self._earliest(now)
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

    def _earliest(self, now: float) -> tuple[int, float]:
        """The parked consumer whose next poll reaches the publisher first
        at or after ``now``: its place in the sorted offsets, and when."""
        keys, n = self._keys, len(self._keys)
        phase = math.fmod(now, self._interval_s)
        at = bisect.bisect_left(keys, phase) % n
        best = (self._members[at].next_arrival(now), at)
        # floating point may misplace an offset by an ulp: near a tie, look
        # at the neighbour too
        tie = 1e-9 * self._interval_s
        for i in ((at - 1) % n, (at + 1) % n) if abs(keys[at] - phase) < tie else ():
            best = min(best, (self._members[i].next_arrival(now), i))
        before = (at - 1) % n
        if abs(keys[before] - phase) < tie:
            best = min(best, (self._members[before].next_arrival(now), before))
        return best[1], best[0]
