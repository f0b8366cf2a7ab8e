"""Build the model of one strategy, run it, and return what it measured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from sim.model.engine import Sampler, later
from sim.model.faults import Availability
from sim.model.feed import Feed
from sim.model.ledger import LINKS, ROLES, Ledger
from sim.model.polling import LongPollConsumer, ShortPollConsumer
from sim.model.push import BrokerModel, fanout
from sim.model.streams import name_key, stream
from sim.model.subscriber import Deliveries, Subscriber
from sim.model.workload import Events, draw_events
from sim.scenario import Broker, Fanout, LongPoll, Scenario, ShortPoll


@dataclass(frozen=True)
class Outcome:
    """Raw measurements of one run, before any summarising.

    ``latency_s`` holds the reaction latency of every (event, subscriber)
    pair for events published in the window (one per event with a shared
    queue), NaN where the event never got there before the run stopped.
    ``counts`` holds the ledger's counters (requests, polls, failures, ...).
    """

    events_published: int
    latency_s: np.ndarray
    cpu_s: dict[str, float]
    bytes: dict[str, int]
    counts: dict[str, int]
    down_s: float
    stopped_at_s: float

    @property
    def requests(self) -> int:
        return self.counts["requests"]

    @property
    def polls(self) -> int:
        return self.counts["polls"]

    @property
    def empty_polls(self) -> int:
        return self.counts["empty_polls"]


def simulate(scenario: Scenario, strategy_name: str, replication: int) -> Outcome:
    """Simulate ``strategy_name`` of ``scenario`` in one replication."""
    strategy = scenario.strategy(strategy_name)
    events = draw_events(scenario, replication)
    sim = scenario.simulation
    seed, n_subs = sim.seed, scenario.workload.subscribers
    shared = isinstance(strategy, (ShortPoll, LongPoll)) and strategy.shared_queue
    env = simpy.Environment()

    first, stop = np.searchsorted(events.times, [sim.warmup_s, sim.duration_s])
    complete = env.event()
    deliveries = Deliveries(
        events.times, int(first), int(stop - first), 1 if shared else n_subs, complete
    )
    ledger = Ledger(scenario.costs, scenario.network, sim.warmup_s, sim.duration_s)
    delay_s = Sampler(
        scenario.network.latency_s,
        stream(seed, replication, "network", name_key(strategy.name)),
    )
    horizon_s = sim.duration_s + sim.drain_limit_s
    subscribers = []
    for i in range(n_subs):
        faults = stream(seed, replication, "faults", i)
        subscribers.append(
            Subscriber(
                env,
                i,
                scenario.subscriber,
                Sampler(
                    scenario.subscriber.service_time_s,
                    stream(seed, replication, "service", i),
                ),
                deliveries,
                ledger,
                Availability(scenario.subscriber.faults, horizon_s, faults),
                faults,
                slot=0 if shared else i,
            )
        )

    on_publish = _build(
        env, scenario, strategy, replication, events, subscribers, delay_s, ledger,
        deliveries,
    )
    _publish(env, events.times, on_publish)

    until = env.all_of(
        [
            env.timeout(sim.duration_s),
            env.any_of([complete, env.timeout(horizon_s)]),
        ]
    )
    env.run(until=until)

    return Outcome(
        events_published=int(stop - first),
        latency_s=deliveries.latency_s,
        cpu_s=dict(zip(ROLES, ledger.cpu_s)),
        bytes=dict(zip(LINKS, ledger.bytes)),
        counts=ledger.counts(),
        down_s=sum(
            s.availability.down_time_s(sim.warmup_s, sim.duration_s) for s in subscribers
        ),
        stopped_at_s=float(env.now),
    )


def _build(env, scenario, strategy, replication, events: Events, subscribers, delay_s,
           ledger, deliveries):
    """Wire up one strategy; returns what to do when an event is published."""
    seed = scenario.simulation.seed
    key = name_key(strategy.name)

    if isinstance(strategy, (ShortPoll, LongPoll)):
        shared = strategy.shared_queue
        feed = Feed(events.payload_bytes, 1 if shared else len(subscribers))
        parts = dict(
            env=env, feed=feed, delay_s=delay_s, ledger=ledger,
            rng=stream(seed, replication, "poll", key),
        )
        if isinstance(strategy, ShortPoll):
            phases = _phases(scenario, strategy, replication, len(subscribers))
            for sub, phase in zip(subscribers, phases):
                ShortPollConsumer(
                    strategy, phase, source=0 if shared else sub.index, subscriber=sub,
                    **parts,
                )
        else:
            for sub in subscribers:
                LongPollConsumer(
                    strategy, source=0 if shared else sub.index, subscriber=sub, **parts
                )
        return lambda _event: feed.publish()

    parts = dict(
        publish_times=events.times.tolist(),
        payload_bytes=events.payload_bytes.tolist(),
        delay_s=delay_s,
        ledger=ledger,
        deliveries=deliveries,
        rng=stream(seed, replication, "retry", key),
    )
    if isinstance(strategy, Fanout):
        return fanout(env, strategy, subscribers, **parts)
    if isinstance(strategy, Broker):
        return BrokerModel(env, strategy, subscribers, **parts).on_publish
    raise TypeError(f"unknown strategy {strategy!r}")


def _phases(scenario, strategy: ShortPoll, replication: int, n: int) -> list[float]:
    if strategy.phase == "aligned":
        return [0.0] * n
    rng = stream(scenario.simulation.seed, replication, "phase", name_key(strategy.name))
    return rng.uniform(0.0, strategy.interval_s, n).tolist()


def _publish(env: simpy.Environment, times: np.ndarray, on_publish) -> None:
    """Publish each event at its instant, one scheduled event at a time."""
    times = times.tolist()

    def emit(i: int) -> None:
        on_publish(i)
        if i + 1 < len(times):
            later(env, times[i + 1] - env.now, emit, i + 1)

    if times:
        later(env, times[0], emit, 0)
