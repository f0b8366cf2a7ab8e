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

Each consumer draws the delays of its polls from its own stream, and those
of its acknowledgements from another, so its polls see the same delays
whether the polls before them were simulated one by one or, while parked,
counted in bulk (:mod:`sim.model.skipping`).
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.model.engine import Sampler, later
from sim.model.feed import Feed
from sim.model.ledger import PUBLISHER, PUBLISHER_SUBSCRIBERS, SUBSCRIBERS, Ledger
from sim.model.skipping import CHUNK, SCALAR_FIRST, Parking, count_in, first_tick
from sim.model.subscriber import OK, Subscriber
from sim.scenario import LongPoll, ShortPoll, Uniform

UNIT = Uniform(kind="uniform", low=0.0, high=1.0)


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
        rng: np.random.Generator | None,
        wants: np.ndarray | None = None,
        ack_delay_s: Sampler | None = None,
        parking: Parking | None = None,
    ):
        self.env = env
        self.wants = wants
        self.parking = parking
        self.ack_delay_s = delay_s if ack_delay_s is None else ack_delay_s
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

    def _can_park(self) -> bool:
        """Idle, and every poll would come back empty until something
        becomes visible at the source."""
        return (
            self.parking is not None
            and not self.in_flight
            and self.subscriber.backlog <= self.prefetch
            and not self.subscriber.awaits_drain
            and self.feed.quiet(self.source)
        )

    def _book_empty(self, arrivals: np.ndarray) -> None:
        ledger = self.ledger
        ledger.count_empty_polls(count_in(arrivals, ledger.start_s, ledger.end_s))

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
        self.ledger.answered_poll(at, len(events), body)
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
        later(self.env, self.ack_delay_s(), self._ack_arrives, events)

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
        self.fixed_delay_s = self.delay_s.constant  # None when delays are drawn
        # the consumer's own uniform draws (false empty answers, jitter), a
        # block at a time, so that parked polls can read theirs ahead
        self.units = None if self.rng is None else Sampler(UNIT, self.rng)
        self._tick_no = 0
        self._ticking = True  # False while a poll sent on waking is out
        self._park_s = 0.0  # with a backoff: when the first parked tick is
        later(self.env, phase_s, self._tick)

    def _tick(self) -> None:
        if self._can_park():
            # this tick and the ones after it belong to the parking now
            self._park_s = self.env.now
            self.parking.park(self)
            return
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
        if self.parking is not None:
            self.parking.arrived(self)
        empty = (
            self.false_empty > 0.0
            and self.feed.has_new(self.source)
            and self.units() < self.false_empty
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
        if not self._ticking:
            self._resume_ticks()

    def _resume_ticks(self) -> None:
        """The answer to a poll sent on waking is back: the ticks it spent
        on its way found it open and were skipped; the next one is the
        first after now, taken by the parking if the consumer can park."""
        now = self.env.now
        k = max(self._tick_no, math.ceil((now - self.phase_s) / self.interval_s))
        while self.phase_s + k * self.interval_s <= now:
            k += 1
        self._tick_no = k
        self._ticking = True
        if self._can_park():
            self.parking.park(self)
        else:
            later(self.env, self.phase_s + k * self.interval_s - now, self._tick)

    def _repoll(self) -> None:
        if not self.in_flight and not self.subscriber.is_down(self.env.now):
            self._send()
        elif self.backoff is not None and not self.in_flight:
            later(self.env, self._jittered(self.wait_s), self._tick)

    # -- parked: the polls of ticks _tick_no, _tick_no + 1, ... ----------------

    @property
    def arrival_key(self) -> float:
        """Where in the interval this consumer's polls reach the publisher
        (a fixed delay only)."""
        return math.fmod(self.phase_s + self.fixed_delay_s, self.interval_s)

    def wake(self, now: float) -> float:
        """Something is visible at ``now``: count the empty polls before the
        first that can see it, and resume at that one; returns when it
        reaches the publisher."""
        if self.backoff is not None:
            return self._wake_backing_off(now)
        k, _tick_s, arrival_s = self._scan(now, math.inf)
        # That poll is sent whatever happens before its tick: the consumer
        # is idle and its subscriber up then. Sent from here, it needs no
        # tick of its own; ticks resume once its answer is back.
        self._tick_no = k + 1
        self._ticking = False
        self.in_flight = True
        self.delay_s()
        later(self.env, arrival_s - now, self._arrive)
        return arrival_s

    def settle(self, stop_s: float) -> None:
        """The run stopped at ``stop_s``: count the polls made meanwhile."""
        if self.backoff is not None:
            self._scan_backing_off(math.inf, min(stop_s, self.ledger.end_s))
        else:
            self._scan(math.inf, min(stop_s, self.ledger.end_s))

    # -- parked with a backoff: ticks from _park_s, each after the last
    # poll's answer plus the jittered wait, the wait growing by the
    # multiplier after each empty answer -----------------------------------

    def _wake_backing_off(self, now: float) -> float:
        tick_s, arrival_s = self._scan_backing_off(now, math.inf)
        if tick_s >= now:
            # the poll is yet to be sent: its tick runs as queued ticks do
            later(self.env, tick_s - now, self._tick)
        else:
            # on its way at `now`: its answer schedules the next tick
            self.in_flight = True
            self.delay_s()
            later(self.env, arrival_s - now, self._arrive)
        return arrival_s

    def _scan_backing_off(self, until_arrival_s: float, until_tick_s: float):
        """Count the parked polls that reach the publisher before
        ``until_arrival_s`` from ticks before ``until_tick_s``, consuming
        their delays and jitter, in the order and with the sums the queued
        ticks would make; returns the first other poll as (tick, arrival),
        or None when the ticks ran past ``until_tick_s``."""
        backoff, delays, availability = (
            self.backoff,
            self.delay_s,
            self.subscriber.availability,
        )
        draws = 0 if backoff.jitter == "none" else 1
        tick_s, wait_s = self._park_s, self.wait_s
        arrivals: list[float] = []
        used = units = 0  # delays and uniform draws read ahead
        while tick_s < until_tick_s:
            if len(arrivals) == CHUNK:
                self._book_empty(np.array(arrivals))
                arrivals.clear()
                delays.skip(used)
                if draws:
                    self.units.skip(units)
                used = units = 0
            if availability.is_down(tick_s):
                # no poll: the next tick comes a jittered wait later
                tick_s = tick_s + self._jittered(wait_s, units)
                units += draws
                continue
            arrival_s = tick_s + delays.ahead(used)
            if arrival_s >= until_arrival_s:
                break
            back_s = arrival_s + delays.ahead(used + 1)
            used += 2
            arrivals.append(arrival_s)
            wait_s = min(backoff.max_interval_s, wait_s * backoff.multiplier)
            tick_s = back_s + self._jittered(wait_s, units)
            units += draws
        self._book_empty(np.array(arrivals))
        delays.skip(used)
        if draws:
            self.units.skip(units)
        self._park_s, self.wait_s = tick_s, wait_s
        if tick_s >= until_tick_s:
            return None
        return tick_s, arrival_s

    def _first_tick(self, threshold_s: float, offset_s: float) -> int | None:
        """The first parked tick ``k`` with ``phase + k * interval + offset``
        at or after ``threshold_s`` (None for an infinite threshold)."""
        if threshold_s == math.inf:
            return None
        if threshold_s == -math.inf:
            return self._tick_no
        return first_tick(
            threshold_s, offset_s, self.phase_s, self.interval_s, self._tick_no
        )

    def _scan(self, until_arrival_s: float, until_tick_s: float):
        """Count the parked polls that reach the publisher before
        ``until_arrival_s`` from ticks before ``until_tick_s``, consuming
        their delays; returns the first other poll as (tick number, tick
        time, arrival), or None when the ticks ran past ``until_tick_s``."""
        delay = self.delay_s.constant
        windows = self.subscriber.availability.windows
        if delay is not None and not windows and 2 * delay < self.interval_s:
            return self._scan_fixed(until_arrival_s, until_tick_s)
        return self._scan_drawn(until_arrival_s, until_tick_s)

    def _scan_fixed(self, until_arrival_s: float, until_tick_s: float):
        # every tick polls, each poll is back before the next tick, and
        # arrivals increase with the tick: all of it is arithmetic
        delay = self.delay_s.constant
        live = self._first_tick(until_arrival_s, delay)
        end = self._first_tick(until_tick_s, 0.0)
        k = live if end is None else end if live is None else min(live, end)
        self.ledger.count_empty_polls(self.skip_ticks(k))
        if live is None or (end is not None and end <= live):
            return None
        tick_s = self.phase_s + live * self.interval_s
        return live, tick_s, tick_s + delay

    def skip_ticks(self, k: int) -> int:
        """Move on to parked tick ``k`` (a fixed delay, no downtime);
        returns how many of the polls of ticks ``_tick_no`` to ``k - 1``
        reached the publisher in the window, all of them empty."""
        delay, ledger = self.fixed_delay_s, self.ledger
        k0, phase, interval = self._tick_no, self.phase_s, self.interval_s
        if k <= k0:
            count = 0
        elif (
            phase + k0 * interval + delay >= ledger.start_s
            and phase + (k - 1) * interval + delay < ledger.end_s
        ):
            count = k - k0  # all in the window
        else:
            low = min(self._first_tick(ledger.start_s, delay), k)
            high = min(self._first_tick(ledger.end_s, delay), k)
            count = high - low
        self._tick_no = k
        return count

    def _scan_drawn(self, until_arrival_s: float, until_tick_s: float):
        phase, interval = self.phase_s, self.interval_s
        availability = self.subscriber.availability
        first = self._tick_no
        back_s = -math.inf  # when the last counted poll's answer is back
        # most scans end within a tick or two: numpy costs more there
        delay_s, ledger, used = self.delay_s, self.ledger, 0
        for k in range(first, first + SCALAR_FIRST):
            tick_s = phase + k * interval
            if tick_s >= until_tick_s:
                delay_s.skip(used)
                self._tick_no = k
                return None
            if back_s >= tick_s or availability.is_down(tick_s):
                continue
            arrival_s = tick_s + delay_s.ahead(used)
            if arrival_s >= until_arrival_s:
                delay_s.skip(used)
                self._tick_no = k
                return k, tick_s, arrival_s
            back_s = arrival_s + delay_s.ahead(used + 1)
            used += 2
            ledger.answered_poll(arrival_s, 0, 0)
        delay_s.skip(used)
        k = first + SCALAR_FIRST
        while True:
            first_s = phase + k * interval
            if first_s >= until_tick_s:
                self._tick_no = k
                return None
            span = min(until_arrival_s, until_tick_s) - first_s
            n = CHUNK if span == math.inf else int(min(CHUNK, max(8, span / interval)))
            ticks = phase + (k + np.arange(n)) * interval
            up = ~availability.down_mask(ticks)
            delays = self.delay_s.peek(2 * n)
            polled = np.flatnonzero(up)
            m = len(polled)
            at = ticks[polled]
            arrivals = at + delays[0 : 2 * m : 2]
            backs = arrivals + delays[1 : 2 * m : 2]
            earlier = np.concatenate([[back_s], backs[:-1]])
            if np.all(earlier < at):
                # no tick finds the previous poll still open
                stop = (arrivals >= until_arrival_s) | (at >= until_tick_s)
                j = int(np.argmax(stop)) if stop.any() else m
                self._book_empty(arrivals[:j])
                self.delay_s.skip(2 * j)
                if j < m:
                    self._tick_no = k + int(polled[j])
                    if at[j] >= until_tick_s:
                        return None
                    return self._tick_no, float(at[j]), float(arrivals[j])
                if m:
                    back_s = float(backs[-1])
                k += n
                continue
            # a poll outlasts the interval: go tick by tick
            used, counted = 0, []
            ticks_list, up_list, delays_list = ticks.tolist(), up.tolist(), delays
            for i in range(n):
                tick_s = ticks_list[i]
                if tick_s >= until_tick_s:
                    self._book_empty(np.array(counted))
                    self.delay_s.skip(used)
                    self._tick_no = k + i
                    return None
                if not up_list[i] or back_s >= tick_s:
                    continue
                arrival_s = tick_s + float(delays_list[used])
                if arrival_s >= until_arrival_s:
                    self._book_empty(np.array(counted))
                    self.delay_s.skip(used)
                    self._tick_no = k + i
                    return k + i, tick_s, arrival_s
                back_s = arrival_s + float(delays_list[used + 1])
                used += 2
                counted.append(arrival_s)
            self._book_empty(np.array(counted))
            self.delay_s.skip(used)
            k += n

    def _jittered(self, wait_s: float, ahead: int | None = None) -> float:
        """The wait before the next tick, jittered with the next uniform
        draw (or, for a parked poll, the one ``ahead`` draws on); as
        numpy's ``uniform(0, w)`` would draw it, ``w`` times the draw."""
        jitter = self.backoff.jitter if self.backoff is not None else "none"
        if jitter == "none":
            return wait_s
        u = self.units() if ahead is None else self.units.ahead(ahead)
        if jitter == "full":
            return wait_s * u
        return wait_s / 2 + wait_s / 2 * u


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
        if self._can_park():
            # this poll and the ones after it belong to the parking now
            self._send_s = now
            self.parking.park(self)
            return
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
        self.feed.wait(poll.wake, now)
        later(self.env, self.wait_s, poll.expire)

    def _received(self, count: int) -> None:
        self.subscriber.when_backlog_at_most(self.prefetch, self._poll_when_up)

    # -- parked: empty long polls one after another from _send_s -------------

    def wake(self, now: float) -> float:
        """Something is visible at ``now``: count the polls answered empty
        before it, and put the one open at ``now`` back where it is (on its
        way, or held at the publisher); returns when it got there."""
        send_s, arrival_s, expiry_s = self._scan(now, math.inf)
        if send_s >= now:
            later(self.env, send_s - now, self._poll_when_up)
            return arrival_s
        self.in_flight = True
        self.delay_s()
        if arrival_s > now:
            later(self.env, arrival_s - now, self._arrive)
        else:
            poll = _HeldPoll(self, arrival_s)
            self.feed.wait(poll.wake, arrival_s)
            later(self.env, expiry_s - now, poll.expire)
        return arrival_s

    def settle(self, stop_s: float) -> None:
        """The run stopped at ``stop_s``: count the polls answered meanwhile
        (the event queue still runs what falls due at ``stop_s`` itself)."""
        after = math.nextafter(stop_s, math.inf)
        self._scan(after, after)

    def _scan(self, until_expiry_s: float, until_send_s: float):
        """Count the parked polls whose wait expires before
        ``until_expiry_s``, sent before ``until_send_s``, consuming their
        delays; returns the first other as (sent, arrived, expires), or
        None when the sends ran past ``until_send_s``."""
        availability = self.subscriber.availability
        wait_s, send_s = self.wait_s, self._send_s
        one_by_one = 0
        while True:
            if send_s >= until_send_s:
                return None
            if availability.windows or one_by_one < SCALAR_FIRST:
                # most scans end within a poll or two: numpy costs more there
                one_by_one += 1
                live = self._scan_one(until_expiry_s)
                if live is not None:
                    return live
                send_s = self._send_s
                continue
            # each poll takes at least the wait: no more than this can fit
            span = min(until_expiry_s, until_send_s) - send_s
            n = int(min(CHUNK, max(1, span / wait_s + 1)))
            delays = self.delay_s.peek(2 * n)
            steps = np.empty(3 * n + 1)
            steps[0] = send_s
            steps[1::3] = delays[0::2]
            steps[2::3] = wait_s
            steps[3::3] = delays[1::2]
            # sums in the order the event queue adds them
            times = np.cumsum(steps)
            sends, arrivals, expiries = times[0:-1:3], times[1::3], times[2::3]
            stop = (expiries >= until_expiry_s) | (sends >= until_send_s)
            j = int(np.argmax(stop)) if stop.any() else n
            self._book_empty(arrivals[:j])
            self.delay_s.skip(2 * j)
            if j < n:
                self._send_s = float(sends[j])
                if sends[j] >= until_send_s:
                    return None
                return self._send_s, float(arrivals[j]), float(expiries[j])
            send_s = self._send_s = float(times[-1])

    def _scan_one(self, until_expiry_s: float):
        """One parked poll: wait for the subscriber to be up, then send;
        count it if it expires before ``until_expiry_s``, else return it as
        (sent, arrived, expires)."""
        availability, send_s = self.subscriber.availability, self._send_s
        while availability.is_down(send_s):
            send_s = send_s + (availability.up_at(send_s) - send_s)
        self._send_s = send_s
        arrival_s = send_s + self.delay_s.ahead(0)
        expiry_s = arrival_s + self.wait_s
        if expiry_s >= until_expiry_s:
            return send_s, arrival_s, expiry_s
        self.ledger.answered_poll(arrival_s, 0, 0)
        self._send_s = expiry_s + self.delay_s.ahead(1)
        self.delay_s.skip(2)
        return None


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
