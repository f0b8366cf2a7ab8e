"""Build the model of one strategy, run it, and return what it measured."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import simpy

from sim.model.claim_check import ClaimChecks
from sim.model.engine import ProxiedDelay, Sampler, later, run
from sim.model.envelope_bytes import wire_bytes
from sim.model.faults import Availability
from sim.model.feed import Feed
from sim.model.ledger import (
    LINKS,
    PROXIES,
    PUBLISHER_SUBSCRIBERS,
    ROLES,
    TO_STORAGE,
    Ledger,
)
from sim.model.polling import LongPollConsumer, ShortPollConsumer
from sim.model.push import BrokerModel, fanout
from sim.model.request_reply import RequestReplyModel, RoundTrips
from sim.model.skipping import (
    Parking,
    QuietDeliveries,
    delivers_quietly,
    fallback_reason,
)
from sim.model.streams import name_key, stream
from sim.model.subscriber import Deliveries, Subscriber
from sim.model.workload import Events, draw_events
from sim.scenario import Broker, Fanout, LongPoll, RequestReply, Scenario, ShortPoll


@dataclass(frozen=True)
class Outcome:
    """Raw measurements of one run, before any summarising.

    ``latency_s`` holds the reaction latency of every (event, subscriber)
    pair for events published in the window (one per event with a shared
    queue), NaN where the event never got there before the run stopped;
    ``wanted`` marks the pairs a subscriber wants (None: all of them);
    ``censored_s`` holds how long each pair still on its way when the run
    stopped had waited (a lower bound on its latency); ``round_trip_s``,
    for request-reply only, each request's time until its reply was back.
    ``counts`` holds the ledger's counters (requests, polls, failures, ...).
    ``engine`` is the model that ran: ``"fast"`` when empty polls were
    counted in bulk, else ``"reference"``, with ``fallback`` saying why a
    polling strategy under ``simulation.engine = "fast"`` did not.
    """

    events_published: int
    latency_s: np.ndarray
    censored_s: np.ndarray
    round_trip_s: np.ndarray | None
    wanted: np.ndarray | None
    cpu_s: dict[str, float]
    bytes: dict[str, int]
    counts: dict[str, int]
    down_s: float
    stopped_at_s: float
    engine: str = "reference"
    fallback: str | None = None

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
    env = simpy.Environment()

    # one slot per event where one subscriber answers it (a shared queue, or
    # a request someone must reply to), else one per subscriber
    shared = (
        isinstance(strategy, (ShortPoll, LongPoll)) and strategy.shared_queue
    ) or isinstance(strategy, RequestReply)
    first, stop = (
        int(i) for i in np.searchsorted(events.times, [sim.warmup_s, sim.duration_s])
    )
    wants = _wants(scenario, replication, len(events))
    complete = env.event()
    deliveries = Deliveries(
        events.times,
        first,
        stop - first,
        1 if shared else scenario.workload.subscribers,
        complete,
        wanted=None if wants is None else wants[first:stop].reshape(-1),
    )
    ledger = Ledger(
        scenario.costs, scenario.network, sim.warmup_s, sim.duration_s, scenario.sidecar
    )
    legs = _legs(scenario, replication, name_key(strategy.name))

    claims = None
    carried = events.payload_bytes
    if scenario.claim_check is not None:
        claims = ClaimChecks(
            env, scenario.claim_check, events.payload_bytes, legs[TO_STORAGE], ledger
        )
        carried = claims.carried_bytes(carried)
    wire = wire_bytes(strategy.envelope, carried)

    horizon_s = sim.duration_s + sim.drain_limit_s
    subscribers = _subscribers(
        env, scenario, replication, deliveries, ledger, claims, shared, horizon_s
    )
    round_trips = (
        RoundTrips(events.times, first, stop - first)
        if isinstance(strategy, RequestReply)
        else None
    )
    finish: list = []
    on_publish = _strategy_model(
        env,
        scenario,
        strategy,
        replication,
        events,
        wire,
        subscribers,
        legs,
        ledger,
        deliveries,
        wants,
        round_trips,
        finish,
    )
    if claims is not None:
        on_publish = _storing_first(claims, on_publish)
    _publish(env, events.times, on_publish)

    run(
        env,
        env.all_of(
            [
                env.timeout(sim.duration_s),
                env.any_of([complete, env.timeout(horizon_s)]),
            ]
        ),
    )
    for settle in finish:
        settle(float(env.now))

    reason = fallback_reason(scenario, strategy)
    return Outcome(
        events_published=stop - first,
        latency_s=deliveries.latency_s,
        censored_s=deliveries.censored_s(float(env.now)),
        round_trip_s=None if round_trips is None else round_trips.round_trip_s,
        wanted=deliveries.wanted,
        cpu_s=dict(zip(ROLES, ledger.cpu_s)),
        bytes=dict(zip(LINKS, ledger.bytes)),
        counts=ledger.counts(),
        down_s=sum(
            s.availability.down_time_s(sim.warmup_s, sim.duration_s)
            for s in subscribers
        ),
        stopped_at_s=float(env.now),
        engine="fast" if reason is None else "reference",
        fallback=None if reason == "not a polling strategy" else reason,
    )


def _subscribers(
    env, scenario, replication, deliveries, ledger, claims, shared, horizon_s
) -> list[Subscriber]:
    """Every subscriber, each with its own service and fault streams."""
    seed, spec = scenario.simulation.seed, scenario.subscriber
    subscribers = []
    for i in range(scenario.workload.subscribers):
        # a stream is made only where it is drawn from: making one costs
        # more than a short run's handful of events
        faults = stream(seed, replication, "faults", i) if spec.faults.any else None
        service = functools.partial(stream, seed, replication, "service", i)
        subscribers.append(
            Subscriber(
                env,
                i,
                spec,
                Sampler(spec.service_time_s, service),
                deliveries,
                ledger,
                Availability(spec.faults, horizon_s, faults),
                faults,
                slot=0 if shared else i,
                claim_checks=claims,
            )
        )
    return subscribers


def _strategy_model(
    env,
    scenario,
    strategy,
    replication,
    events: Events,
    wire,
    subscribers,
    legs,
    ledger,
    deliveries,
    wants,
    round_trips,
    finish: list,
):
    """Wire up the strategy; returns what to do when an event is published,
    and adds to ``finish`` what to do once the run has stopped."""
    times = events.times.tolist()
    if isinstance(strategy, (ShortPoll, LongPoll)):
        return _pollers(
            env,
            scenario,
            strategy,
            replication,
            times,
            wire,
            subscribers,
            legs,
            ledger,
            wants,
            finish,
        )
    parts = dict(
        publish_times=times,
        payload_bytes=wire.tolist(),
        ledger=ledger,
        deliveries=deliveries,
        rng=stream(
            scenario.simulation.seed, replication, "retry", name_key(strategy.name)
        ),
        legs=legs,
    )
    if isinstance(strategy, Fanout):
        return fanout(env, strategy, subscribers, wants=wants, **parts)
    if isinstance(strategy, Broker):
        return BrokerModel(env, strategy, subscribers, wants=wants, **parts).on_publish
    if isinstance(strategy, RequestReply):
        model = RequestReplyModel(env, strategy, subscribers, round_trips, **parts)
        return model.on_publish
    raise TypeError(f"unknown strategy {strategy!r}")


def _storing_first(claims: ClaimChecks, publish):
    """Publish claim-checked events once their payload is in storage."""

    def on_publish(event: int) -> None:
        if claims.claimed[event]:
            claims.store_then(event, publish)
        else:
            publish(event)

    return on_publish


def _legs(scenario: Scenario, replication: int, key: int) -> list:
    """One-way delay of a message on each link, sidecars included."""
    seed = scenario.simulation.seed
    network = Sampler(
        scenario.network.latency_s, stream(seed, replication, "network", key)
    )
    sidecar = scenario.sidecar
    proxy = (
        None
        if sidecar is None
        else Sampler(sidecar.latency_s, stream(seed, replication, "sidecar", key))
    )
    claim = scenario.claim_check
    storage = (
        network
        if claim is None or claim.storage_latency_s is None
        else Sampler(claim.storage_latency_s, stream(seed, replication, "storage", key))
    )
    legs = []
    for link, proxies in enumerate(PROXIES):
        base = storage if link == TO_STORAGE else network
        legs.append(base if proxy is None else _with_proxies(base, proxy, proxies))
    return legs


def _with_proxies(base: Sampler, proxy: Sampler, proxies: int):
    return ProxiedDelay(base, proxy, proxies)


def _consumer_leg(scenario: Scenario, replication: int, key: int, i: int, use: int):
    """One-way delay between consumer ``i`` and the publisher, from the
    consumer's own streams: ``use`` 0 for its polls, 1 for its
    acknowledgements. A fixed delay draws nothing and needs no stream."""
    seed = scenario.simulation.seed

    def sampler(dist, purpose: str) -> Sampler:
        if dist.kind == "fixed":
            return Sampler(dist, None)
        return Sampler(dist, stream(seed, replication, purpose, key, i, use))

    network = sampler(scenario.network.latency_s, "network")
    if scenario.sidecar is None:
        return network
    proxy = sampler(scenario.sidecar.latency_s, "sidecar")
    return ProxiedDelay(network, proxy, PROXIES[PUBLISHER_SUBSCRIBERS])


def _wants(scenario: Scenario, replication: int, n_events: int) -> np.ndarray | None:
    """Which subscriber wants which event, or None when all want all."""
    workload = scenario.workload
    if not workload.filtered:
        return None
    rng = stream(scenario.simulation.seed, replication, "types")
    types = rng.integers(0, workload.event_types, n_events)
    k = max(1, round(workload.wanted_fraction * workload.event_types))
    chosen = np.zeros((workload.subscribers, workload.event_types), dtype=bool)
    for row in chosen:
        row[rng.choice(workload.event_types, k, replace=False)] = True
    return chosen[:, types].T.copy()


def _pollers(
    env,
    scenario,
    strategy,
    replication,
    events_times,
    wire,
    subscribers,
    legs,
    ledger,
    wants,
    finish,
):
    """Start the consumers; returns what to do when an event is published.

    Each consumer has its own streams: the delays of its polls, of its
    acknowledgements, and its own draws (false empty answers, jitter).
    """
    shared = strategy.shared_queue
    feed = Feed(
        env,
        events_times,
        wire,
        1 if shared else len(subscribers),
        strategy.visibility_timeout_s,
        on_redelivery=lambda event: ledger.redelivery(events_times[event]),
    )
    seed, key = scenario.simulation.seed, name_key(strategy.name)
    short = isinstance(strategy, ShortPoll)
    draws = short and (
        strategy.false_empty_probability > 0
        or (strategy.backoff is not None and strategy.backoff.jitter != "none")
    )
    poll_legs = [
        _consumer_leg(scenario, replication, key, s.index, 0) for s in subscribers
    ]
    parkings = None
    if fallback_reason(scenario, strategy) is None:
        parkings = _parkings(env, strategy, subscribers, poll_legs)
        feed.parkings = parkings
        if parkings[0].fleet and delivers_quietly(scenario, strategy):
            feed.alone = QuietDeliveries(
                env, feed, parkings[0], ledger, subscribers[0]._deliveries
            )
        finish.extend(parking.finish for parking in parkings)
    phases = (
        _phases(scenario, strategy, replication, len(subscribers)) if short else None
    )
    for sub in subscribers:
        parts = {
            "env": env,
            "feed": feed,
            "source": 0 if shared else sub.index,
            "subscriber": sub,
            "delay_s": poll_legs[sub.index],
            "ack_delay_s": None
            if strategy.ack == "none"
            else _consumer_leg(scenario, replication, key, sub.index, 1),
            "ledger": ledger,
            "rng": stream(seed, replication, "poll", key, sub.index) if draws else None,
            "wants": wants,
            "parking": None
            if parkings is None
            else parkings[0 if shared else sub.index],
        }
        if short:
            ShortPollConsumer(strategy, phases[sub.index], **parts)
        else:
            LongPollConsumer(strategy, **parts)
    return lambda _event: feed.publish()


def _parkings(env, strategy, subscribers, poll_legs) -> list[Parking]:
    """One parking per source. Competing short pollers with a fixed delay
    that no downtime interrupts wake one at a time (see Parking)."""
    if not strategy.shared_queue:
        return [Parking(env) for _ in subscribers]
    delay = poll_legs[0].constant
    fleet = (
        isinstance(strategy, ShortPoll)
        and strategy.backoff is None
        and delay is not None
        and 2 * delay < strategy.interval_s
        and not any(s.availability.windows for s in subscribers)
    )
    return [Parking(env, strategy.interval_s if fleet else None)]


def _phases(scenario, strategy: ShortPoll, replication: int, n: int) -> list[float]:
    if strategy.phase == "aligned":
        return [0.0] * n
    rng = stream(
        scenario.simulation.seed, replication, "phase", name_key(strategy.name)
    )
    return rng.uniform(0.0, strategy.interval_s, n).tolist()


def _publish(env: simpy.Environment, times: np.ndarray, on_publish) -> None:
    """Publish each event at its instant, one scheduled event at a time."""
    times = times.tolist()

    def emit(i: int) -> None:
        # a feed may publish the events after this one at once (see
        # Feed.publish), and says how many it published
        published = on_publish(i)
        i += 1 if published is None else published
        if i < len(times):
            later(env, times[i] - env.now, emit, i)

    if times:
        later(env, times[0], emit, 0)
