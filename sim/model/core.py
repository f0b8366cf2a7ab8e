"""Build the model of one strategy, run it, and return what it measured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from sim.model.engine import Sampler, later
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
    pair for events published in the window, NaN where the subscriber never
    got the event before the run stopped.
    """

    events_published: int
    latency_s: np.ndarray
    cpu_s: dict[str, float]
    bytes: dict[str, int]
    requests: int
    polls: int
    empty_polls: int
    timeouts: int
    stopped_at_s: float


def simulate(scenario: Scenario, strategy_name: str, replication: int) -> Outcome:
    """Simulate ``strategy_name`` of ``scenario`` in one replication."""
    strategy = scenario.strategy(strategy_name)
    events = draw_events(scenario, replication)
    sim = scenario.simulation
    seed, n_subs = sim.seed, scenario.workload.subscribers
    env = simpy.Environment()

    first, stop = np.searchsorted(events.times, [sim.warmup_s, sim.duration_s])
    complete = env.event()
    deliveries = Deliveries(events.times, int(first), int(stop - first), n_subs, complete)
    ledger = Ledger(scenario.costs, scenario.network, sim.warmup_s, sim.duration_s)
    delay_s = Sampler(
        scenario.network.latency_s, stream(seed, replication, "network", name_key(strategy.name))
    )
    subscribers = [
        Subscriber(
            env,
            i,
            scenario.subscriber.concurrency,
            Sampler(scenario.subscriber.service_time_s, stream(seed, replication, "service", i)),
            deliveries,
        )
        for i in range(n_subs)
    ]

    on_publish = _build(env, scenario, strategy, replication, events, subscribers, delay_s, ledger)
    _publish(env, events.times, on_publish)

    until = env.all_of(
        [
            env.timeout(sim.duration_s),
            env.any_of([complete, env.timeout(sim.duration_s + sim.drain_limit_s)]),
        ]
    )
    env.run(until=until)

    return Outcome(
        events_published=int(stop - first),
        latency_s=deliveries.latency_s,
        cpu_s=dict(zip(ROLES, ledger.cpu_s)),
        bytes=dict(zip(LINKS, ledger.bytes)),
        requests=ledger.requests,
        polls=ledger.polls,
        empty_polls=ledger.empty_polls,
        timeouts=ledger.timeouts,
        stopped_at_s=float(env.now),
    )


def _build(env, scenario, strategy, replication, events: Events, subscribers, delay_s, ledger):
    """Wire up one strategy; returns what to do when an event is published."""
    payload = events.payload_bytes.tolist()

    if isinstance(strategy, (ShortPoll, LongPoll)):
        feed = Feed(events.payload_bytes, len(subscribers))
        parts = dict(env=env, feed=feed, delay_s=delay_s, ledger=ledger)
        if isinstance(strategy, ShortPoll):
            phases = _phases(scenario, strategy, replication, len(subscribers))
            for sub, phase in zip(subscribers, phases):
                ShortPollConsumer(strategy, phase, index=sub.index, subscriber=sub, **parts)
        else:
            for sub in subscribers:
                LongPollConsumer(strategy, index=sub.index, subscriber=sub, **parts)
        return lambda _event: feed.publish()

    if isinstance(strategy, Fanout):
        return fanout(env, strategy, subscribers, payload, delay_s, ledger)

    if isinstance(strategy, Broker):
        return BrokerModel(env, strategy, subscribers, payload, delay_s, ledger).on_publish

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
