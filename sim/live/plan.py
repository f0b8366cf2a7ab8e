"""What a scenario becomes when it is run live, and what had to be scaled.

A live run takes real seconds and real processes, so a scenario is bounded
before it runs: its duration is cut to a few seconds, its subscribers to a
handful of processes, its events to a few thousand. Every cut is recorded
in :attr:`LivePlan.scaled` so the command line can say what was changed;
the simulated run that a live run is compared with uses the same cut
scenario, so both see the same events.

A scenario may hold a ``[live]`` table (ignored by the simulator)::

    [live]
    duration_s = 5                  # real seconds of publishing
    broker = "rabbitmq"             # or "redis": for broker strategies
    broker_url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    redis_url = "redis://127.0.0.1:6379/0"
    broker_polled = ["poll_broker"] # polling strategies that poll the broker
                                    # instead of the publisher's HTTP feed
    [live.brokers]                  # a broker per strategy, overriding
    redis_push = "redis"            # `broker`

Features a live run does not reproduce (injected faults, claim-checks,
sidecars, subscribers that want only some event types, request-reply,
acknowledged or shared polling) are refused with a :class:`LiveError`
naming the field, rather than run and compared as if they were there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from sim._base import Frozen
from sim.errors import PollpushError
from sim.live.wire import MIN_PAYLOAD_BYTES
from sim.scenario import (
    Broker,
    Fanout,
    LongPoll,
    Scenario,
    ShortPoll,
    _read_toml,
    _validate,
    load_scenario,
)

# envelopes a subscriber can inspect with sim.envelopes.parse; "none" is the
# bare JSON payload. SQS answers have no parser, and CloudEvents binary mode
# keeps attributes in headers, which a batch of events in one feed answer
# cannot carry.
PARSED_ENVELOPES = (
    "cloudevents_structured",
    "eventgrid",
    "sns",
    "pubsub",
    "eventbridge",
)
FEED_ENVELOPES = ("none", *PARSED_ENVELOPES)
PUSH_ENVELOPES = (*FEED_ENVELOPES, "cloudevents_binary")


BROKERS = ("rabbitmq", "redis")


class LiveError(PollpushError):
    """A scenario, or a part of one, that cannot be run live."""


class LiveSpec(Frozen):
    """The ``[live]`` table of a scenario: bounds and where the broker is."""

    duration_s: float = Field(default=5.0, gt=0, le=600)
    max_events: int = Field(default=2000, ge=1, le=100_000)
    max_subscribers: int = Field(default=8, ge=1, le=64)
    drain_s: float = Field(default=5.0, gt=0, le=120)
    broker: Literal[BROKERS] = "rabbitmq"  # type: ignore[valid-type]
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_polled: tuple[str, ...] = Field(default=(), strict=False)
    brokers: dict[str, Literal[BROKERS]] = Field(default_factory=dict)  # type: ignore[valid-type]

    @field_validator("broker_url", "redis_url")
    @classmethod
    def _loopback(cls, value: str, info) -> str:
        scheme, article = (
            ("amqp", "an") if info.field_name == "broker_url" else ("redis", "a")
        )
        url = urlsplit(value)
        if url.scheme != scheme or url.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(
                f"got {value!r}; expected {article} {scheme}:// URL on 127.0.0.1 (live runs "
                "stay on this machine)"
            )
        return value

    def url(self, broker: str) -> str:
        return self.broker_url if broker == "rabbitmq" else self.redis_url


@dataclass(frozen=True)
class LivePlan:
    """A scenario cut to live size, the strategies to run and how.

    ``transports`` maps each strategy to ``"http"`` (the publisher's feed,
    or POSTs to subscribers) or the broker it goes through, ``"rabbitmq"``
    or ``"redis"`` (push: pub/sub; polling: a stream read with ``XREAD``).
    """

    source: str
    scenario: Scenario
    spec: LiveSpec
    strategies: tuple[str, ...]
    transports: dict[str, str]
    scaled: tuple[str, ...]

    @property
    def drain_s(self) -> float:
        """Real seconds after publishing stops that deliveries may take."""
        waits = [
            getattr(s, "interval_s", 0.0) + getattr(s, "wait_s", 0.0)
            for s in map(self.scenario.strategy, self.strategies)
        ]
        return max(self.spec.drain_s, 2 * max(waits, default=0.0))


def plan_live(
    path: str | Path,
    strategy: str | None = None,
    duration_s: float | None = None,
) -> LivePlan:
    """Load ``path`` and cut it to what a live run on this machine can do."""
    file = Path(path)
    if file.exists() and not (file.is_file() or file.is_dir()):
        raise LiveError(f"{path}: is not a regular file; expected a TOML scenario")
    source, raw, _ = _read_toml(path)
    spec = _validate(LiveSpec, raw.get("live", {}), source, prefix="live")
    scenario = load_scenario(path)
    names = [s.name for s in scenario.strategies]
    if strategy is not None:
        try:
            scenario.strategy(strategy)
        except ValueError as exc:
            raise LiveError(f"{source}: {exc}") from None
        names = [strategy]
    known = [s.name for s in scenario.strategies]
    for field, listed in (
        ("broker_polled", spec.broker_polled),
        ("brokers", spec.brokers),
    ):
        unknown = [n for n in listed if n not in known]
        if unknown:
            raise LiveError(
                f"{source}: live.{field}: no strategy named {unknown[0]!r}; "
                f"strategies here: {', '.join(known)}"
            )
    conflicts = _listing_problems(scenario, spec)
    if conflicts:
        raise LiveError(f"{source}: {conflicts[0]}")
    transports = {n: _transport(scenario.strategy(n), spec) for n in names}
    problems = _unsupported(scenario, names, transports)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise LiveError(f"{source}: cannot be run live:\n{listed}")

    scaled, cut = _scale(scenario, spec, duration_s)
    axes = (
        (raw.get("sweep") or {}).get("axes")
        if isinstance(raw.get("sweep"), dict)
        else None
    )
    if axes:
        scaled.append(
            f"sweep.axes ({', '.join(map(str, axes))}) not run live: only the "
            "base scenario is"
        )
    return LivePlan(
        source=source,
        scenario=cut,
        spec=spec,
        strategies=tuple(names),
        transports=transports,
        scaled=tuple(scaled),
    )


def _listing_problems(scenario: Scenario, spec: LiveSpec) -> list[str]:
    """Strategies that ``live.broker_polled`` and ``live.brokers`` name in a
    way that would be silently resolved: named in both, or named as polled
    though they do not poll."""
    problems = []
    for name in spec.broker_polled:
        kind = scenario.strategy(name).kind
        if name in spec.brokers:
            problems.append(
                f"live.broker_polled and live.brokers both name {name!r}; name it "
                "once (live.brokers polls the broker it gives, live.broker_polled "
                "polls live.broker)"
            )
        elif kind in ("broker", "fanout"):
            what = (
                "goes through a broker anyway (live.broker, or live.brokers)"
                if kind == "broker"
                else "calls its subscribers itself, through no broker"
            )
            problems.append(
                f"live.broker_polled: {name!r} is a {kind} strategy, which {what}; "
                "only short_poll strategies are broker-polled: remove it from "
                "live.broker_polled"
            )
    return problems


def _transport(strategy, spec: LiveSpec) -> str:
    """``"http"``, or the broker a strategy goes through."""
    name = strategy.name
    if strategy.kind == "broker" or name in spec.broker_polled or name in spec.brokers:
        return spec.brokers.get(name, spec.broker)
    return "http"


def _scale(
    scenario: Scenario, spec: LiveSpec, duration_s: float | None
) -> tuple[list[str], Scenario]:
    sim, workload = scenario.simulation, scenario.workload
    scaled: list[str] = []
    duration = min(sim.duration_s, duration_s or spec.duration_s)
    rate = workload.arrivals.mean_rate_per_s
    if rate * duration > spec.max_events:
        duration = spec.max_events / rate
        scaled.append(
            f"duration cut so that about {spec.max_events} events are published "
            f"(live.max_events) at {rate:g} events/s"
        )
    if duration < sim.duration_s:
        scaled.insert(
            0, f"simulation.duration_s {sim.duration_s:g} s -> {duration:g} s"
        )
    if sim.warmup_s:
        scaled.append(f"simulation.warmup_s {sim.warmup_s:g} s -> 0 s")
    if sim.replications > 1:
        scaled.append(f"simulation.replications {sim.replications} -> 1")
    subscribers = min(workload.subscribers, spec.max_subscribers)
    if subscribers < workload.subscribers:
        scaled.append(
            f"workload.subscribers {workload.subscribers} -> {subscribers} "
            "(live.max_subscribers)"
        )
    simulation = sim.model_copy(
        update={"duration_s": duration, "warmup_s": 0.0, "replications": 1}
    )
    update: dict = {"subscribers": subscribers}
    size = workload.payload_bytes
    if size.kind == "fixed" and size.value < MIN_PAYLOAD_BYTES:
        # what a live payload must carry; the prediction sends the same
        update["payload_bytes"] = size.model_copy(update={"value": MIN_PAYLOAD_BYTES})
        scaled.append(
            f"workload.payload_bytes {size.value:g} B -> {MIN_PAYLOAD_BYTES} B "
            "(the event number and publish instant must fit)"
        )
    return scaled, scenario.model_copy(
        update={
            "simulation": simulation,
            "workload": workload.model_copy(update=update),
        }
    )


def _unsupported(
    scenario: Scenario, names: list[str], transports: dict[str, str]
) -> list[str]:
    """Why each part of the scenario cannot be reproduced live, if any."""
    problems = []
    if scenario.subscriber.faults.any:
        problems.append(
            "subscriber.faults: live runs inject no faults; remove the table "
            "(faults are a question for the simulator)"
        )
    for field in ("claim_check", "sidecar"):
        if getattr(scenario, field) is not None:
            problems.append(f"{field}: not reproduced live; remove the table")
    if scenario.workload.filtered:
        problems.append(
            f"workload.wanted_fraction: got {scenario.workload.wanted_fraction}; "
            "live subscribers want every event (expected 1.0)"
        )
    for name in names:
        s = scenario.strategy(name)
        where = f"strategies.{name}"
        problems += [f"{where}.{p}" for p in _strategy_problems(s, transports[name])]
    return problems


def _strategy_problems(s, transport: str) -> list[str]:
    if not isinstance(s, (ShortPoll, LongPoll, Fanout, Broker)):
        return [
            f"kind: got {s.kind!r}; live runs do short_poll, long_poll, fanout "
            "and broker"
        ]
    problems = []
    if isinstance(s, Fanout) and transport != "http":
        return [
            f"kind: a fanout strategy calls its subscribers itself, through no "
            f"broker; remove it from live.brokers (got {transport!r})"
        ]
    allowed = FEED_ENVELOPES if isinstance(s, (ShortPoll, LongPoll)) else PUSH_ENVELOPES
    if transport != "http":
        allowed = FEED_ENVELOPES
    if s.envelope not in allowed:
        problems.append(
            f"envelope: got {s.envelope!r}; live runs of this strategy take "
            f"{', '.join(allowed)}"
        )
    if isinstance(s, (ShortPoll, LongPoll)):
        defaults = dict(
            shared_queue=False, prefetch=0, ack="none", visibility_timeout_s=None
        )
        for field, default in defaults.items():
            if getattr(s, field) != default:
                problems.append(
                    f"{field}: got {getattr(s, field)!r}; live polling reads a feed "
                    f"by offset (expected {default!r})"
                )
    if isinstance(s, ShortPoll):
        if s.backoff is not None:
            problems.append("backoff: not reproduced live; remove it")
        if s.false_empty_probability:
            problems.append("false_empty_probability: not reproduced live; expected 0")
    if transport == "rabbitmq" and isinstance(s, LongPoll):
        problems.append(
            "kind: RabbitMQ has no blocking get, so it cannot be long-polled; "
            "poll Redis instead (live.brokers) or remove the strategy from "
            "live.broker_polled"
        )
    if (
        transport == "rabbitmq"
        and isinstance(s, ShortPoll)
        and (s.max_batch != 1 or not s.repoll_when_full)
    ):
        problems.append(
            f"max_batch: got {s.max_batch}; basic.get fetches one message per "
            "request, so a broker-polled strategy needs max_batch = 1 and "
            "repoll_when_full = true for the model to count the same requests"
        )
    return problems


def expected_deliveries(plan: LivePlan, events: int) -> int:
    """(event, subscriber) pairs a run of ``events`` events must deliver."""
    return events * plan.scenario.workload.subscribers


def describe_bounds(plan: LivePlan) -> str:
    """One line on how long a live run of the plan may take at most."""
    sim = plan.scenario.simulation
    total = len(plan.strategies) * (sim.duration_s + plan.drain_s)
    return (
        f"{len(plan.strategies)} strategies x ({sim.duration_s:g} s publishing + at "
        f"most {plan.drain_s:g} s draining) = at most {math.ceil(total)} s"
    )
