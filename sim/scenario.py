"""Scenario and sweep files: reading, validating, and applying sweep axes.

A scenario is a TOML file describing one system (how long to simulate, the
workload, the network, the cost model, the subscribers) and the strategies to
compare on it. A sweep file is a scenario with a ``[sweep]`` table mapping
dotted field paths to lists of values. Everything is validated on load into
frozen objects; a problem is reported as a :class:`~sim.errors.ScenarioError`
that names the file, the dotted field path, the value and what was expected.

This module knows files and TOML. It knows nothing of SimPy, pandas or the
command line.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import tomllib
from dataclasses import dataclass
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim._base import Frozen
from sim.errors import ScenarioError
from sim.prices import Prices
from sim.workload_file import Fitted, Replay

BUNDLED_PACKAGE = "sim.scenarios"
DEFAULT_SWEEP = "default"
# how a live run bounds the scenario; read and validated by sim.live.plan
LIVE_TABLE = "live"


# -- distributions -----------------------------------------------------------
#
# Each distribution draws non-negative values in the unit its field name
# carries (seconds for ``latency_s``, bytes for ``payload_bytes``).


class Fixed(Frozen):
    """Always the same value."""

    kind: Literal["fixed"]
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(Frozen):
    """Exponential with the given mean (memoryless service or delay)."""

    kind: Literal["exponential"]
    mean: float = Field(gt=0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


class LogNormal(Frozen):
    """Log-normal given by its median and the sigma of the underlying normal."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, n)


class Uniform(Frozen):
    """Uniform between ``low`` and ``high``."""

    kind: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


Distribution = Annotated[
    Union[Fixed, Exponential, LogNormal, Uniform], Field(discriminator="kind")
]
# an event's payload is at most a gigabyte (larger draws are clipped), so
# byte totals stay well inside 64-bit integers
MAX_PAYLOAD_BYTES = 10**9


class FixedPayload(Fixed):
    """Every payload this many bytes."""

    value: float = Field(ge=0, le=MAX_PAYLOAD_BYTES)


class LogNormalPayload(LogNormal):
    """Log-normal payload sizes, clipped at a gigabyte."""

    median: float = Field(gt=0, le=MAX_PAYLOAD_BYTES)
    sigma: float = Field(ge=0, le=5)


PayloadDistribution = Annotated[
    Union[FixedPayload, LogNormalPayload], Field(discriminator="kind")
]


# -- arrivals ----------------------------------------------------------------


class Poisson(Frozen):
    """Events arrive independently at a constant mean rate."""

    kind: Literal["poisson"]
    rate_per_s: float = Field(gt=0)

    @property
    def mean_rate_per_s(self) -> float:
        return self.rate_per_s


class Constant(Frozen):
    """Events arrive exactly ``1 / rate_per_s`` apart, from a random offset."""

    kind: Literal["constant"]
    rate_per_s: float = Field(gt=0)

    @property
    def mean_rate_per_s(self) -> float:
        return self.rate_per_s


class OnOff(Frozen):
    """Bursts: Poisson at ``on_rate_per_s`` during on periods, at
    ``off_rate_per_s`` between them; period lengths are exponential."""

    kind: Literal["onoff"]
    on_rate_per_s: float = Field(gt=0)
    off_rate_per_s: float = Field(default=0.0, ge=0)
    mean_on_s: float = Field(gt=0)
    mean_off_s: float = Field(gt=0)

    @property
    def mean_rate_per_s(self) -> float:
        cycle = self.mean_on_s + self.mean_off_s
        on, off = self.mean_on_s / cycle, self.mean_off_s / cycle
        return on * self.on_rate_per_s + off * self.off_rate_per_s


Arrivals = Annotated[
    Union[Poisson, Constant, OnOff, Replay, Fitted], Field(discriminator="kind")
]


# -- the system --------------------------------------------------------------


class Simulation(Frozen):
    """How long to simulate and how often.

    Metrics cover the window ``[warmup_s, duration_s)``. Events published in
    that window are followed until every subscriber has them, for at most
    ``drain_s`` simulated seconds after ``duration_s`` (default: as long
    again as ``duration_s``); what is still missing then is ``undelivered``.

    ``engine = "fast"`` counts the polls that can only come back empty
    instead of simulating each (same results; see :mod:`sim.model.skipping`
    for what it covers); ``"reference"`` simulates every poll.
    """

    duration_s: float = Field(gt=0)
    warmup_s: float = Field(default=0.0, ge=0)
    seed: int = Field(default=0, ge=0)
    replications: int = Field(default=1, ge=1)
    drain_s: float | None = Field(default=None, gt=0)
    engine: Literal["fast", "reference"] = "fast"

    @model_validator(mode="after")
    def _warmup_before_end(self) -> Simulation:
        if self.warmup_s >= self.duration_s:
            raise ValueError(
                f"warmup_s ({self.warmup_s}) must be shorter than "
                f"duration_s ({self.duration_s})"
            )
        return self

    @property
    def window_s(self) -> float:
        return self.duration_s - self.warmup_s

    @property
    def drain_limit_s(self) -> float:
        return self.duration_s if self.drain_s is None else self.drain_s


class Workload(Frozen):
    """What the publisher emits and which subscribers want it.

    Each event has one of ``event_types`` types, drawn uniformly; each
    subscriber wants ``round(wanted_fraction * event_types)`` of them (at
    least one), chosen at random. Brokers and a publisher calling its
    subscribers filter before sending; pollers fetch every event and discard
    what their subscriber does not want.
    """

    subscribers: int = Field(ge=1)
    arrivals: Arrivals
    payload_bytes: PayloadDistribution
    event_types: int = Field(default=1, ge=1)
    wanted_fraction: float = Field(default=1.0, gt=0, le=1)

    @property
    def filtered(self) -> bool:
        return self.wanted_fraction < 1.0 and self.event_types > 1


class Network(Frozen):
    """One-way latency of every message, and HTTP framing overhead."""

    latency_s: Distribution
    request_overhead_bytes: int = Field(ge=0)
    response_overhead_bytes: int = Field(ge=0)


class Costs(Frozen):
    """CPU seconds the modelled system spends on communication.

    ``per_request_sent`` is charged to the side that makes an HTTP request
    (including reading its response), ``per_request_handled`` to the side
    that serves it. Each body, request or response, costs its sender
    ``per_kib_serialised`` and its receiver ``per_kib_deserialised`` per KiB.

    ``profile`` names a cost profile (a TOML file written by ``python -m sim
    calibrate``, relative to the scenario's folder) whose ``[costs]`` table
    gives the four figures; any of them given here as well wins.
    """

    cpu_s_per_request_sent: float = Field(ge=0)
    cpu_s_per_request_handled: float = Field(ge=0)
    cpu_s_per_kib_serialised: float = Field(ge=0)
    cpu_s_per_kib_deserialised: float = Field(ge=0)
    profile: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_profile(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("profile"), str):
            return data
        base_dir = (info.context or {}).get("base_dir") or Path.cwd()
        return {**read_cost_profile(Path(base_dir) / data["profile"]), **data}


COST_FIELDS = (
    "cpu_s_per_request_sent",
    "cpu_s_per_request_handled",
    "cpu_s_per_kib_serialised",
    "cpu_s_per_kib_deserialised",
)


PROFILE_TABLES = ("machine", "costs", "costs_back_to_back", "network", "envelopes")


def read_cost_profile(path: Path) -> dict[str, float]:
    """The four cost figures of a profile's ``[costs]`` table; ValueError
    naming the file, the key, the value and what was expected.

    A profile is a regular file of tables (those ``python -m sim calibrate``
    writes); its ``[costs]`` holds the four figures and nothing else, so a
    misspelt figure is refused rather than silently left to the scenario.
    """
    where = f"profile {str(path)!r}"
    try:
        if path.exists() and not path.is_file():
            raise ValueError(
                f"{where}: is not a regular file; expected a cost profile written "
                "by 'python -m sim calibrate --out FILE'"
            )
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{where}: no such file; expected a cost profile written by "
            "'python -m sim calibrate --out FILE'"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{where}: cannot be read as TOML: {exc}") from None
    for name, value in table.items():
        if name not in PROFILE_TABLES:
            raise ValueError(
                f"{where}: unknown table {name!r}; valid tables: "
                f"{', '.join(PROFILE_TABLES)}"
            )
        if not isinstance(value, dict):
            raise ValueError(
                f"{where}: {name}: got {value!r}; expected a table ([{name}])"
            )
    costs = table.get("costs")
    if costs is None:
        raise ValueError(
            f"{where}: no [costs] table; expected one with {', '.join(COST_FIELDS)}"
        )
    unknown = sorted(set(costs) - set(COST_FIELDS))
    if unknown:
        raise ValueError(
            f"{where}: costs.{unknown[0]}: unknown key; valid keys here: "
            f"{', '.join(COST_FIELDS)}"
        )
    figures = {}
    for key in COST_FIELDS:
        value = costs.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (math.isfinite(value) and value >= 0)
        ):
            got = "missing" if value is None else f"got {value!r}"
            raise ValueError(
                f"{where}: costs.{key}: {got}; expected a number of CPU seconds >= 0"
            )
        figures[key] = float(value)
    return figures


# -- faults ------------------------------------------------------------------


class Outage(Frozen):
    """A scheduled window during which a subscriber is down."""

    start_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)


class Faults(Frozen):
    """What goes wrong at a subscriber.

    ``when_down`` says what a caller meets while the subscriber is down:
    ``"refuse"`` (the connection is refused at once: a transport error one
    round trip later, no HTTP exchange), ``"blackhole"`` (nothing answers:
    the caller waits out its timeout) or ``"503"`` (a load balancer answers
    503 with ``Retry-After``). A rate limit answers 429 with ``Retry-After``.
    ``error_5xx_probability`` fails a handled event with 500 after its
    service time; ``error_4xx_probability`` rejects it with 400 on arrival
    (not retried). ``ack_loss_probability`` loses the 2xx of a handled event,
    so the caller times out and delivers it again. Beyond ``queue_limit``
    waiting requests the subscriber answers 503.
    """

    outages: tuple[Outage, ...] = Field(default=(), strict=False)
    mtbf_s: float | None = Field(default=None, gt=0)
    mttr_s: float | None = Field(default=None, gt=0)
    when_down: Literal["refuse", "blackhole", "503"] = "refuse"
    error_5xx_probability: float = Field(default=0.0, ge=0, lt=1)
    error_4xx_probability: float = Field(default=0.0, ge=0, lt=1)
    rate_limit_per_s: float | None = Field(default=None, gt=0)
    rate_limit_burst: int = Field(default=1, ge=1)
    retry_after_s: float = Field(default=1.0, ge=0)
    ack_loss_probability: float = Field(default=0.0, ge=0, lt=1)
    queue_limit: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Faults:
        if (self.mtbf_s is None) != (self.mttr_s is None):
            raise ValueError(
                "mtbf_s and mttr_s go together: give both for random outages, "
                f"or neither (got mtbf_s={self.mtbf_s}, mttr_s={self.mttr_s})"
            )
        return self

    @property
    def any(self) -> bool:
        return self != Faults()


# -- retry policies ----------------------------------------------------------
#
# A policy gives the delay before each retry of a failed delivery. Every
# policy stops after ``max_attempts`` attempts (the first included) and when
# the next attempt would start more than ``ttl_s`` after the event was
# published; with ``honour_retry_after`` a Retry-After answer delays the
# next attempt to at least that long.


class _Retrying(Frozen):
    max_attempts: int = Field(default=3, ge=1)
    ttl_s: float | None = Field(default=None, gt=0)
    honour_retry_after: bool = True


class NoRetry(Frozen):
    """A failed delivery is given up at once."""

    kind: Literal["none"]
    max_attempts: Literal[1] = 1
    ttl_s: None = None
    honour_retry_after: bool = False


class FixedRetry(_Retrying):
    """The same delay before every retry."""

    kind: Literal["fixed"]
    delay_s: float = Field(ge=0)


class ExponentialRetry(_Retrying):
    """``base_s * multiplier ** (k - 1)`` before retry k, at most ``cap_s``,
    with the jitter of the AWS Architecture Blog's "Exponential Backoff and
    Jitter": ``full`` draws uniformly below it, ``equal`` keeps half and draws
    the other half, ``decorrelated`` draws between ``base_s`` and three times
    the previous delay (capped)."""

    kind: Literal["exponential"]
    base_s: float = Field(gt=0)
    cap_s: float = Field(gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: Literal["none", "full", "equal", "decorrelated"] = "none"

    @model_validator(mode="after")
    def _cap_above_base(self) -> ExponentialRetry:
        if self.cap_s < self.base_s:
            raise ValueError(
                f"cap_s ({self.cap_s}) must not be below base_s ({self.base_s})"
            )
        return self


class ScheduleRetry(_Retrying):
    """Delays from a list, the last repeated; each scaled by a uniform
    factor in ``[1 - randomisation, 1 + randomisation]``."""

    kind: Literal["schedule"]
    delays_s: tuple[float, ...] = Field(min_length=1, strict=False)
    randomisation: float = Field(default=0.0, ge=0, lt=1)

    @field_validator("delays_s")
    @classmethod
    def _non_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(d < 0 for d in value):
            raise ValueError(f"delays must be >= 0, got {list(value)}")
        return value


class PhasedRetry(Frozen):
    """Amazon SNS's HTTP/S delivery policy: ``no_delay_retries`` at once,
    ``min_delay_retries`` ``min_delay_s`` apart, a backoff phase rising from
    ``min_delay_s`` to ``max_delay_s``, then ``max_delay_retries`` at
    ``max_delay_s``; ``retries`` in all (``max_attempts`` is one more)."""

    kind: Literal["phases"]
    retries: int = Field(ge=0)
    no_delay_retries: int = Field(default=0, ge=0)
    min_delay_retries: int = Field(default=0, ge=0)
    max_delay_retries: int = Field(default=0, ge=0)
    min_delay_s: float = Field(gt=0)
    max_delay_s: float = Field(gt=0)
    backoff_function: Literal["linear", "arithmetic", "geometric", "exponential"] = (
        "linear"
    )
    randomisation: float = Field(default=0.0, ge=0, lt=1)
    ttl_s: float | None = Field(default=None, gt=0)
    honour_retry_after: bool = True

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @model_validator(mode="after")
    def _consistent(self) -> PhasedRetry:
        fixed = self.no_delay_retries + self.min_delay_retries + self.max_delay_retries
        if fixed > self.retries:
            raise ValueError(
                f"no_delay_retries + min_delay_retries + max_delay_retries ({fixed}) "
                f"must not exceed retries ({self.retries})"
            )
        if self.max_delay_s < self.min_delay_s:
            raise ValueError(
                f"max_delay_s ({self.max_delay_s}) must not be below "
                f"min_delay_s ({self.min_delay_s})"
            )
        return self


RetryPolicy = Annotated[
    Union[NoRetry, FixedRetry, ExponentialRetry, ScheduleRetry, PhasedRetry],
    Field(discriminator="kind"),
]
NO_RETRY = NoRetry(kind="none")


class Subscriber(Frozen):
    """Each subscriber handles one event at a time per worker.

    An idempotent subscriber records each event id it handles
    (``cpu_s_per_idempotency_check`` for every event received) and answers
    a duplicate at once; one that is not handles duplicates again in full.
    """

    service_time_s: Distribution
    concurrency: int = Field(ge=1)
    faults: Faults = Faults()
    idempotent: bool = True
    cpu_s_per_idempotency_check: float = Field(default=0.0, ge=0)


ENVELOPES = (
    "none",
    "cloudevents_structured",
    "cloudevents_binary",
    "eventgrid",
    "sns",
    "pubsub",
    "eventbridge",
    "sqs",
)


class _Strategy(Frozen):
    """Fields every strategy has. ``envelope`` wraps each event on the wire
    as the named service does (see :mod:`sim.model.envelope_bytes`); the
    default is the bare payload."""

    name: str = Field(min_length=1)
    envelope: Literal[ENVELOPES] = "none"  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        # a preset's fields are defaults: what the file sets wins
        if isinstance(data, dict) and isinstance(data.get("preset"), str):
            from sim.presets import PRESETS

            defaults = PRESETS.get((data.get("kind"), data["preset"]))
            if defaults is not None:
                return {**defaults, **data}
        return data

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value != value.strip() or "." in value:
            raise ValueError(
                f"strategy name {value!r} must have no dots and no outer spaces"
            )
        return value


class PollBackoff(Frozen):
    """Adaptive polling: after an empty answer the wait before the next poll
    grows by ``multiplier`` up to ``max_interval_s``; any event resets it to
    the strategy's ``interval_s``. ``jitter`` draws the wait uniformly below
    it (``full``) or in its upper half (``equal``)."""

    max_interval_s: float = Field(gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: Literal["none", "full", "equal"] = "none"


class _Polling(_Strategy):
    """Fields every polling strategy has.

    ``ack`` is how a consumer tells the source it is done with what it
    received: not at all (a feed read by offset), one request per event, or
    one per batch (SQS's DeleteMessageBatch). With ``visibility_timeout_s``
    an event handed out stays hidden, not removed, until acknowledged, and
    is handed out again if no acknowledgement has come when the time is up
    (SQS's visibility timeout, Service Bus's peek-lock): handling that
    fails or takes too long, and lost acknowledgements, deliver it twice.
    """

    max_batch: int = Field(default=10, ge=1)
    shared_queue: bool = False
    prefetch: int = Field(default=0, ge=0)
    ack: Literal["none", "per_event", "per_batch"] = "none"
    visibility_timeout_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _hidden_events_need_acks(self) -> _Polling:
        if self.visibility_timeout_s is not None and self.ack == "none":
            raise ValueError(
                "visibility_timeout_s needs ack = 'per_event' or 'per_batch': "
                "without acknowledgements every event would be handed out again"
            )
        return self


class ShortPoll(_Polling):
    """Each consumer asks the publisher for new events every ``interval_s``.

    ``phase = "random"`` starts each consumer at an independent uniform
    offset within the interval; ``"aligned"`` makes them all poll at the same
    instants. With ``repoll_when_full`` a consumer whose poll came back with
    a full batch asks again as soon as its workers have taken the batch,
    instead of waiting for the next tick, as paging clients do. With
    ``shared_queue`` all consumers take from one queue, so each event goes to
    one of them (competing consumers) instead of to each. ``prefetch`` lets
    a consumer poll again while fewer than that many received events wait
    for a worker (Azure Service Bus's prefetch count).
    ``false_empty_probability`` answers a poll empty although events wait,
    as SQS short polling does when it samples servers that hold none.
    """

    kind: Literal["short_poll"]
    interval_s: float = Field(gt=0)
    phase: Literal["random", "aligned"] = "random"
    repoll_when_full: bool = True
    backoff: PollBackoff | None = None
    false_empty_probability: float = Field(default=0.0, ge=0, lt=1)
    preset: Literal["sqs_short_poll"] | None = None

    @model_validator(mode="after")
    def _backoff_above_interval(self) -> ShortPoll:
        if self.backoff is not None and self.backoff.max_interval_s < self.interval_s:
            raise ValueError(
                f"backoff.max_interval_s ({self.backoff.max_interval_s}) must not be "
                f"below interval_s ({self.interval_s})"
            )
        return self


class LongPoll(_Polling):
    """Each consumer holds a request open until an event is available or
    ``wait_s`` passes (Amazon SQS allows up to 20 s), then asks again;
    ``shared_queue`` and ``prefetch`` as for short polling."""

    kind: Literal["long_poll"]
    wait_s: float = Field(gt=0)
    preset: Literal["sqs_long_poll", "service_bus"] | None = None


class Fanout(_Strategy):
    """The publisher POSTs every event to every subscriber itself, with at
    most ``concurrency`` calls in flight, each abandoned after ``timeout_s``;
    failed calls are retried by ``retry``."""

    kind: Literal["fanout"]
    concurrency: int = Field(ge=1)
    timeout_s: float = Field(gt=0)
    retry: RetryPolicy = NO_RETRY


class Broker(_Strategy):
    """The publisher POSTs each event once to a broker, which pushes it to
    each subscriber with ``push_concurrency`` calls in flight per subscriber;
    the subscriber's 2xx reply is the acknowledgement.

    With ``push_window = "adaptive"`` the calls allowed in flight start at
    ``min(3, push_concurrency)``, grow by one with each success up to
    ``push_concurrency`` and halve with each failure, as Google Cloud
    Pub/Sub adapts its push rate to the rate of successes. ``preset`` fills
    the fields it names from a provider's documented behaviour (see
    :mod:`sim.presets`); fields given in the file win.
    """

    kind: Literal["broker"]
    push_concurrency: int = Field(ge=1)
    timeout_s: float = Field(gt=0)
    dispatch_delay_s: float = Field(default=0.0, ge=0)
    retry: RetryPolicy = NO_RETRY
    push_window: Literal["fixed", "adaptive"] = "fixed"
    preset: Literal["event_grid", "sns_http", "pubsub_push"] | None = None


class RequestReply(_Strategy):
    """A caller that needs an answer: each event is a request that one
    subscriber instance (in turn) answers with ``reply_bytes``, either over
    direct HTTP or through a broker with a correlation id and a reply
    channel (``transport = "messaging"``). ``concurrency`` bounds the
    requests in flight (the caller's, or the broker's per instance)."""

    kind: Literal["request_reply"]
    transport: Literal["http", "messaging"]
    concurrency: int = Field(ge=1)
    timeout_s: float = Field(gt=0)
    reply_bytes: int = Field(default=256, ge=0)
    dispatch_delay_s: float = Field(default=0.0, ge=0)
    retry: RetryPolicy = NO_RETRY


Strategy = Annotated[
    Union[ShortPoll, LongPoll, Fanout, Broker, RequestReply],
    Field(discriminator="kind"),
]
STRATEGY_KINDS = ("short_poll", "long_poll", "fanout", "broker", "request_reply")


# at some 100,000 simulated operations a second, a run this size takes ~20 min
MAX_WORK_PER_RUN = 100_000_000
# the fast engine counts this many empty polls for the cost of simulating
# one; a short poll with a backoff is worked out one by one, for a third
SKIPPED_POLLS_PER_SIMULATED_POLL = 20
SCANNED_POLLS_PER_SIMULATED_POLL = 3

# names become folder names under results/
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ClaimCheck(Frozen):
    """Payloads above ``threshold_bytes`` go to object storage; the event
    carries a ``reference_bytes`` reference instead. The publisher stores
    the payload before publishing; a subscriber's worker fetches it before
    handling the event. Storage is one network hop away, with
    ``storage_latency_s`` one way (default: the network's latency)."""

    threshold_bytes: int = Field(ge=0)
    reference_bytes: int = Field(default=256, ge=0)
    storage_latency_s: Distribution | None = None


class Sidecar(Frozen):
    """A proxy beside every service (Istio-style): each request passes the
    sender's and the receiver's proxy, each adding ``latency_s`` one way and
    ``cpu_s_per_request`` of its own CPU; a managed broker has none. With
    ``owns_retries`` the sender's proxy makes the retries, so the sending
    application pays nothing for them."""

    latency_s: Distribution
    cpu_s_per_request: float = Field(ge=0)
    owns_retries: bool = False


class Scenario(Frozen):
    """One system and the strategies to compare on it."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    simulation: Simulation
    workload: Workload
    network: Network
    costs: Costs
    subscriber: Subscriber
    # TOML gives a list; the tuple keeps the frozen scenario hashable
    strategies: tuple[Strategy, ...] = Field(min_length=1, strict=False)
    claim_check: ClaimCheck | None = None
    sidecar: Sidecar | None = None
    prices: Prices | None = None

    @model_validator(mode="after")
    def _affordable(self) -> Scenario:
        """Refuse runs so large the simulator would take hours on them."""
        sim, workload = self.simulation, self.workload
        events = workload.arrivals.mean_rate_per_s * sim.duration_s
        work = [("events", events, "simulation.duration_s or the arrival rate")]
        # a shared queue, or a request one instance answers, delivers each
        # event once; every other strategy once per subscriber
        once = all(
            getattr(s, "shared_queue", False) or s.kind == "request_reply"
            for s in self.strategies
        )
        work.append(
            (
                "deliveries",
                events * (1 if once else workload.subscribers),
                "simulation.duration_s, the arrival rate or workload.subscribers",
            )
        )
        for s in self.strategies:
            if s.kind in ("short_poll", "long_poll"):
                field = "interval_s" if s.kind == "short_poll" else "wait_s"
                polls = workload.subscribers * sim.duration_s / getattr(s, field)
                if self.skips_empty_polls(s):
                    # counted in bulk, a poll still costs its delays' draws
                    polls /= (
                        SCANNED_POLLS_PER_SIMULATED_POLL
                        if getattr(s, "backoff", None) is not None
                        else SKIPPED_POLLS_PER_SIMULATED_POLL
                    )
                work.append(
                    (
                        f"polls of strategy {s.name!r}",
                        polls,
                        f"simulation.duration_s or strategies.{s.name}.{field}",
                    )
                )
                if s.shared_queue and not self._wakes_one_at_a_time(s):
                    # every parked consumer wakes at every publish
                    work.append(
                        (
                            f"consumer wake-ups of strategy {s.name!r}",
                            events * workload.subscribers,
                            "simulation.duration_s, the arrival rate or "
                            "workload.subscribers, or give the network a "
                            "fixed latency",
                        )
                    )
        for what, count, knobs in work:
            if count > MAX_WORK_PER_RUN:
                raise ValueError(
                    f"one run would simulate about {count:,.0f} {what}, more than "
                    f"the {MAX_WORK_PER_RUN:,} a run may hold (each costs the "
                    f"simulator several microseconds); reduce {knobs}"
                )
        return self

    @model_validator(mode="after")
    def _filters_need_own_queues(self) -> Scenario:
        shared = [
            s.name
            for s in self.strategies
            if getattr(s, "shared_queue", False) or s.kind == "request_reply"
        ]
        if shared and self.workload.filtered:
            raise ValueError(
                f"strategies {shared} hand each event to one subscriber of many "
                "(a shared queue, or a request any instance may answer); that "
                "cannot honour workload.wanted_fraction < 1"
            )
        return self

    @field_validator("strategies")
    @classmethod
    def _unique_names(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        names = [s.name for s in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"strategy names must be unique; repeated: {repeated}")
        return value

    def skips_empty_polls(self, strategy: Any) -> bool:
        """Whether the fast engine counts ``strategy``'s empty polls instead
        of simulating them (see :func:`sim.model.skipping.fallback_reason`)."""
        return (
            self.simulation.engine == "fast"
            and strategy.kind in ("short_poll", "long_poll")
            and self.claim_check is None
            and self.instants_meet(strategy) is None
        )

    def _fixed_one_way_s(self) -> float | None:
        """The delay between a consumer and the publisher, sidecars
        included, when nothing in it is drawn; else None."""
        legs = [self.network.latency_s]
        if self.sidecar is not None:
            legs += [self.sidecar.latency_s] * 2
        if any(leg.kind != "fixed" for leg in legs):
            return None
        return sum(leg.value for leg in legs)

    def instants_meet(self, strategy: Any) -> str | None:
        """Why polls of ``strategy`` may meet other events at the very same
        instant, where the event queue's own order decides what happens and
        the fast engine cannot follow it; None when they cannot. Only fixed
        delays make such ties: drawn ones put them at measure zero."""
        one_way = self._fixed_one_way_s()
        if one_way is None or strategy.kind not in ("short_poll", "long_poll"):
            return None
        if strategy.kind == "long_poll":
            if strategy.shared_queue:
                return (
                    "competing long polls with a fixed delay: answered together, "
                    "they poll again at the same instants, and the event queue's "
                    "order decides which takes an event"
                )
            return None
        if strategy.phase == "aligned":
            return (
                "aligned phases with a fixed delay: polls reach the publisher at "
                "the same instants, on a round grid where events can meet them "
                "exactly, and the event queue's order decides"
            )
        if strategy.backoff is not None:
            return None
        if 2 * one_way >= strategy.interval_s:
            return (
                "a fixed round trip of an interval or more: answers come back at "
                "the instants of later ticks, and the event queue's order decides "
                "whether those ticks poll"
            )
        if self.subscriber.service_time_s.kind == "fixed":
            return (
                "a fixed delay with a fixed service time: work finishes at the "
                "instants of later ticks, and the event queue's order decides "
                "whether those ticks poll"
            )
        return None

    def _wakes_one_at_a_time(self, strategy: Any) -> bool:
        """Whether the fast engine wakes competing consumers one at a time
        (short polls, fixed delays, no outages: see
        :class:`sim.model.skipping.Parking`) rather than all at each publish."""
        if (
            not self.skips_empty_polls(strategy)
            or strategy.kind != "short_poll"
            or strategy.backoff is not None
        ):
            return False
        legs = [self.network.latency_s]
        if self.sidecar is not None:
            legs += [self.sidecar.latency_s] * 2
        if any(leg.kind != "fixed" for leg in legs):
            return False
        faults = self.subscriber.faults
        return (
            2 * sum(leg.value for leg in legs) < strategy.interval_s
            and not faults.outages
            and faults.mtbf_s is None
        )

    def strategy(self, name: str) -> Any:
        """The strategy called ``name``; ValueError naming the choices if none."""
        for s in self.strategies:
            if s.name == name:
                return s
        names = [s.name for s in self.strategies]
        raise ValueError(
            f"no strategy named {name!r}{_suggestion(name, names)}; "
            f"this scenario has {', '.join(names)}"
        )


class SweepSpec(Frozen):
    """The ``[sweep]`` table: a name and axes of values to try."""

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    axes: dict[str, list[Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base scenario and one scenario per grid point."""

    name: str
    source: str
    base: Scenario
    axes: dict[str, list[Any]]
    points: tuple[dict[str, Any], ...]
    scenarios: tuple[Scenario, ...]


# -- loading -----------------------------------------------------------------


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Read and validate a scenario file (``[sweep]`` and ``[live]`` tables
    are ignored).

    ``overrides`` maps dotted field paths, as sweep axes name them, to values
    that replace the file's before validation.
    """
    source, raw, base_dir = _read_toml(path)
    _validate(SweepSpec, raw.pop("sweep", {}), source, prefix="sweep")
    raw.pop(LIVE_TABLE, None)
    _override(raw, overrides or {}, source)
    return _validate(Scenario, raw, source, base_dir=base_dir)


def load_sweep(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Sweep:
    """Read a sweep file (or the bundled default) and validate every point.

    A sweep file without a ``[sweep]`` table is a sweep of one point.
    ``overrides`` replace fields of the scenario, as in :func:`load_scenario`.
    """
    source, raw, base_dir = _read_toml(DEFAULT_SWEEP if path is None else path)
    raw.pop(LIVE_TABLE, None)
    _override(raw, overrides or {}, source)
    problems: list[str] = []
    spec = base = None
    try:
        spec = _validate(SweepSpec, raw.pop("sweep", {}), source, prefix="sweep")
    except ScenarioError as exc:
        problems += exc.problems
    try:
        base = _validate(Scenario, raw, source, base_dir=base_dir)
    except ScenarioError as exc:
        problems += exc.problems
    if spec is not None and base is not None:
        problems += [
            p
            for axis, values in spec.axes.items()
            for p in _axis_problems(raw, axis, values)
        ]
    if problems:
        raise ScenarioError(source, problems)

    points = tuple(_grid(spec.axes))
    scenarios = []
    for point in points:
        override = copy.deepcopy(raw)
        for axis, value in point.items():
            _set_path(override, axis, value)
        where = ", ".join(f"{k} = {v!r}" for k, v in point.items())
        scenarios.append(
            _validate(
                Scenario, override, f"{source} (sweep point {where})", base_dir=base_dir
            )
        )

    return Sweep(
        name=spec.name or base.name,
        source=source,
        base=base,
        axes=dict(spec.axes),
        points=points,
        scenarios=tuple(scenarios),
    )


def bundled_names() -> list[str]:
    """Names of the scenario files shipped with the package."""
    folder = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_toml(path: str | Path) -> tuple[str, dict[str, Any], Path]:
    """The file's name for messages, its parsed table, and its folder."""
    file = Path(path)
    if not file.exists() and str(path) in bundled_names():
        resource = resources.files(BUNDLED_PACKAGE) / f"{path}.toml"
        source, text = f"{path} (bundled)", resource.read_text(encoding="utf-8")
        base_dir = Path(str(resources.files(BUNDLED_PACKAGE)))
    else:
        source, base_dir = str(path), file.resolve().parent
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(
                source,
                [
                    "no such file; give a path to a TOML scenario or one of the "
                    f"bundled names: {', '.join(bundled_names())}"
                ],
            ) from None
        except IsADirectoryError:
            raise ScenarioError(source, ["is a folder; expected a TOML file"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(source, [f"cannot be read: {exc}"]) from None
    try:
        return source, tomllib.loads(text), base_dir
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"invalid TOML: {exc}"]) from None


def _validate(
    model: type[BaseModel],
    raw: Any,
    source: str,
    prefix: str = "",
    base_dir: Path | None = None,
) -> Any:
    try:
        # base_dir: where a scenario's relative file paths (logs) start
        return model.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the field it was meant for "missing";
        # the suggestion on the unknown key already says so.
        misspelt = {_misspelt_field(model, raw, err) for err in errors} - {None}
        # "too short after validation" only repeats that its items were bad
        with_bad_items = {tuple(e["loc"][:-1]) for e in errors if len(e["loc"]) > 1}
        problems = [
            _describe(model, raw, err, prefix)
            for err in errors
            if not (err["type"] == "missing" and tuple(err["loc"]) in misspelt)
            and not (
                err["type"] == "too_short"
                and err["input"]
                and any(
                    loc[: len(err["loc"])] == tuple(err["loc"])
                    for loc in with_bad_items
                )
            )
        ]
        raise ScenarioError(source, problems) from None


def _misspelt_field(model: type[BaseModel], raw: Any, err: Any) -> tuple | None:
    """The location of the field an unknown key probably meant, if any."""
    if err["type"] != "extra_forbidden":
        return None
    *parent, key = err["loc"]
    _, _, parent_model = _walk_loc(model, raw, parent)
    meant = _closest(str(key), _field_names(parent_model))
    return None if meant is None else (*parent, meant)


# -- error messages ----------------------------------------------------------


def _describe(model: type[BaseModel], raw: Any, err: Any, prefix: str) -> str:
    path, _, _ = _walk_loc(model, raw, err["loc"])
    where = ".".join(filter(None, [prefix, path])) or "(top level)"
    kind, msg = err["type"], err["msg"]

    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        _, _, parent_model = _walk_loc(model, raw, err["loc"][:-1])
        valid = sorted(_field_names(parent_model))
        return (
            f"{where}: unknown key {key!r}{_suggestion(key, valid)}; valid keys here: "
            f"{', '.join(valid)}"
        )
    if kind == "missing":
        return f"{where}: missing; this field is required"
    if kind == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        given = err.get("ctx", {}).get("tag", "")
        options = [t.strip(" '") for t in str(tags).split(",")]
        return (
            f"{where}.kind: got {given!r}{_suggestion(str(given), options)}; "
            f"expected one of {tags}"
        )
    if kind == "union_tag_not_found":
        _, _, union = _walk_loc(model, raw, err["loc"])
        kinds = [_tag(m) for m in _members(union)]
        return f"{where}: missing 'kind'; expected one of {', '.join(map(repr, kinds))}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (
            f"{where}: got {err['input']!r}; expected a table ({{ key = value, ... }})"
        )
    if kind == "string_pattern_mismatch":
        return (
            f"{where}: got {err['input']!r}; expected letters, digits, '_', '.' or "
            "'-', starting with a letter or digit"
        )
    if kind == "too_short" and not err["input"]:
        return f"{where}: is empty; expected at least one entry"
    if kind == "value_error":
        return f"{where}: {msg.removeprefix('Value error, ')}"
    expected = msg.replace("Input should be ", "expected ", 1)
    return f"{where}: got {err['input']!r}; {expected}"


def _walk_loc(
    model: type[BaseModel], raw: Any, loc: Sequence[Any]
) -> tuple[str, Any, type[BaseModel] | None]:
    """Render a pydantic error location as a dotted path of the user's file.

    Pydantic puts the tag of a tagged union into the location; the user never
    wrote it, so it is dropped. Strategies are named by their ``name`` so the
    path reads as a sweep axis would (``strategies.poll_1s.interval_s``).
    """
    parts: list[str] = []
    node, current = raw, model
    for item in loc:
        if isinstance(node, dict) and item not in node and node.get("kind") == item:
            current = _union_member(current, item)
            continue
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            label = entry.get("name") if isinstance(entry, dict) else None
            named = isinstance(label, str) and label and "." not in label
            if named and parts and parts[-1] == "strategies":
                parts.append(label)
            elif parts:
                parts[-1] = f"{parts[-1]}[{item}]"
            else:
                parts.append(f"[{item}]")
            node = entry
            continue
        parts.append(str(item))
        node = node.get(item) if isinstance(node, dict) else None
        current = _field_model(current, str(item))
    return ".".join(parts), node, current


def _tag(model: Any) -> str:
    return model.model_fields["kind"].annotation.__args__[0]


def _field_model(model: Any, field: str) -> Any:
    if model is None or not hasattr(model, "model_fields"):
        return None
    info = model.model_fields.get(field)
    return None if info is None else info.annotation


def _union_member(annotation: Any, tag: str) -> Any:
    for member in _members(annotation):
        kind = getattr(member, "model_fields", {}).get("kind")
        if kind is not None and tag in getattr(kind.annotation, "__args__", ()):
            return member
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The model classes an annotation may hold (unwrapping unions, tuples)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[Any] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _members(arg)
    meta = getattr(annotation, "__origin__", None)
    if meta is not None and not found:
        found += _members(meta)
    return found


def _field_names(model: Any) -> list[str]:
    members = _members(model)
    return sorted({name for m in members for name in m.model_fields})


def _closest(word: str, options: Sequence[str]) -> str | None:
    options = [str(o) for o in options]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    # a unit suffix left off ("rate" for "rate_per_s") is too short for difflib
    close = close or [o for o in options if word and o.startswith(word)][:1]
    return close[0] if close else None


def _suggestion(word: str, options: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or nothing."""
    close = _closest(word, options)
    return f" (did you mean {close!r}?)" if close else ""


# -- sweep axes --------------------------------------------------------------


def _axis_problems(raw: dict[str, Any], axis: str, values: Any) -> Iterator[str]:
    where = f"sweep.axes.{axis!r}"
    if not isinstance(values, list) or not values:
        yield f"{where}: expected a non-empty list of values, got {values!r}"
        return
    tables = [v for v in values if isinstance(v, (list, dict))]
    if tables:
        yield (
            f"{where}: got {tables[0]!r}; expected single values (numbers, strings "
            "or booleans): sweep a field inside the table instead"
        )
        return
    reason = _path_problem(raw, axis)
    if reason:
        yield f"{where}: {reason}"


def _path_problem(raw: dict[str, Any], axis: str) -> str | None:
    """Why ``axis`` names no field of this scenario, or None if it does."""
    parts = axis.split(".")
    node: Any = raw
    model: Any = Scenario
    walked: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if walked == ["strategies"]:
            names = [s.get("name") for s in node if isinstance(s, dict)]
            if part not in names:
                return (
                    f"no strategy named {part!r}{_suggestion(part, names)}; "
                    f"strategies here: {', '.join(map(str, names))}"
                )
            node = node[names.index(part)]
            model = _union_member(Strategy, node.get("kind"))
        else:
            fields = _field_names(model)
            place = ".".join(walked) or "the top level"
            if not fields:
                return f"names no field: {place} is a single value, not a table"
            if part not in fields:
                return (
                    f"names no field: {place} has no {part!r}{_suggestion(part, fields)}; "
                    f"fields there: {', '.join(fields)}"
                )
            node = node.get(part) if isinstance(node, dict) else None
            model = _field_model(model, part)
            if isinstance(node, dict) and "kind" in node:
                model = _union_member(model, node["kind"])
        walked.append(part)
        i += 1
    if walked == ["strategies"] or isinstance(node, dict):
        return "names a table, not a single field"
    if parts[-1] in _NOT_SWEEPABLE:
        return (
            f"{parts[-1]!r} names or selects what is being run and cannot be swept; "
            "sweep a parameter instead"
        )
    return None


_NOT_SWEEPABLE = ("name", "kind", "description", "preset", "transport")


def _override(raw: dict[str, Any], overrides: Mapping[str, Any], source: str) -> None:
    problems = [
        f"override {path!r}: {reason}"
        for path in overrides
        if (reason := _path_problem(raw, path))
    ]
    if problems:
        raise ScenarioError(source, problems)
    for path, value in overrides.items():
        _set_path(raw, path, value)


def _set_path(raw: dict[str, Any], axis: str, value: Any) -> None:
    parts = axis.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if i == 1 and parts[0] == "strategies":
            node = next(s for s in node if s.get("name") == part)
        else:
            node = node.setdefault(part, {})
    node[parts[-1]] = value


def _grid(axes: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    names = list(axes)
    for combo in itertools.product(*(axes[n] for n in names)):
        yield dict(zip(names, combo))
