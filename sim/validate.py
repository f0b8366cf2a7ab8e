"""Validation: the simulator against closed forms.

Each check puts the model (or, for retry delays, the backoff it uses) in a
situation with a textbook answer (:mod:`sim.theory`), measures the same
quantity, and asks whether the answer lies inside a confidence interval
around the measurement. Tolerances are those intervals, never constants.

Every check's interval has confidence ``1 - (1 - FAMILY_CONFIDENCE) / k``
for k checks (Bonferroni), so that a correct model passes all of them
together with probability at least ``FAMILY_CONFIDENCE`` (99%). With 95%
intervals one check in twenty would fail by chance, and any change to how
the model draws its random numbers would break the suite about half the
time.

Intervals follow from how the samples relate:

- independent samples (the wait of each event for the next poll, each
  poll's chance of being empty, each retry sequence's delays): a t interval
  on the samples, an exact binomial (Clopper-Pearson) interval on a count,
  or a distribution-free interval between order statistics for a quantile;
- correlated samples (the waits of successive events in a queue; the waits
  behind one shared set of polling phases; requests per event, a ratio of
  counts): independent replications, each with its own random streams, and
  a t interval over the replication means with replications - 1 degrees of
  freedom. Replications give independent means by construction, where batch
  means within one run need a batch size long enough to decorrelate, and
  the price, one warm-up per replication, is 1 to 2% of each run here.

Sample sizes are chosen so that all checks run in about half a minute on one
core while each interval is a few per cent of its value at most; each
check's parameters below say what it simulates. This module never prints:
:func:`run_checks` yields results for the caller to show.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim import theory
from sim.metrics import metrics_row
from sim.model import Outcome, simulate
from sim.model.retry import Backoff
from sim.scenario import ExponentialRetry, Scenario, ScheduleRetry, ShortPoll

FAMILY_CONFIDENCE = 0.99
DEFAULT_SEED = 1


@dataclass(frozen=True)
class Estimate:
    """A simulated value and its confidence interval.

    ``n`` counts what the interval rests on (samples, polls, sequences or
    replications, as ``method`` says).
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str


@dataclass(frozen=True)
class CheckResult:
    """One check: the closed form, the simulation, and whether they agree.

    ``passed`` is None, and ``skipped`` says why, when the check could not
    run (a model feature it needs is missing).
    """

    name: str
    formula: str
    expected: float
    estimate: float
    ci_low: float
    ci_high: float
    passed: bool | None
    confidence: float
    n: int = 0
    method: str = ""
    skipped: str | None = None


Measure = Callable[[int, float, "Runs"], tuple[float, Estimate]]


@dataclass(frozen=True)
class Check:
    """A named comparison of the model with a closed form.

    ``measure`` returns the expected value and the estimate; it receives
    the seed, the confidence of its interval and a :class:`Runs` cache.
    ``missing`` returns why the check cannot run, or None when it can.
    """

    name: str
    formula: str
    measure: Measure
    missing: Callable[[], str | None] = lambda: None


class Runs:
    """Simulations shared by the checks of one validation, run once each."""

    def __init__(self) -> None:
        self._outcomes: dict[tuple[str, str, int], Outcome] = {}

    def outcome(self, scenario: Scenario, strategy: str, replication: int) -> Outcome:
        """The model's raw outcome (:func:`sim.model.simulate`)."""
        key = (scenario.model_dump_json(), strategy, replication)
        if key not in self._outcomes:
            self._outcomes[key] = simulate(scenario, strategy, replication)
        return self._outcomes[key]

    def metrics(
        self, scenario: Scenario, strategy: str, replication: int
    ) -> dict[str, float]:
        """The run's metrics row, as :func:`sim.run.run` gives it."""
        return metrics_row(self.outcome(scenario, strategy, replication))


# -- intervals ---------------------------------------------------------------


def t_interval(
    values: Sequence[float] | np.ndarray, confidence: float, what: str
) -> Estimate:
    """Mean of independent ``values`` with a Student t interval (n - 1 df).

    A set of identical values (a deterministic quantity) has a zero-width
    interval.
    """
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ValueError(
            f"a t interval needs at least 2 values of {what}, got {x.size}"
        )
    mean = float(x.mean())
    t = stats.t.ppf(0.5 + confidence / 2, x.size - 1)
    half = t * x.std(ddof=1) / math.sqrt(x.size)
    return Estimate(mean, mean - half, mean + half, x.size, f"t interval over {what}")


def quantile_interval(samples: np.ndarray, q: float, confidence: float) -> Estimate:
    """The q-quantile of independent samples with a distribution-free
    interval between order statistics.

    The number of samples below the true quantile is Binomial(n, q), so
    order statistics x_(l) and x_(u) with l = F^-1(alpha / 2) and
    u = F^-1(1 - alpha / 2) + 1 (F the binomial CDF) cover it with
    probability at least the confidence (Hahn and Meeker, *Statistical
    Intervals*, sec. 5.2).
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = x.size
    alpha = 1 - confidence
    low = int(stats.binom.ppf(alpha / 2, n, q))
    high = int(stats.binom.ppf(1 - alpha / 2, n, q)) + 1
    return Estimate(
        float(np.quantile(x, q)),
        float(x[max(low, 1) - 1]),
        float(x[min(high, n) - 1]),
        n,
        "order-statistic interval over independent samples",
    )


def proportion_interval(
    successes: int, trials: int, confidence: float, what: str
) -> Estimate:
    """A proportion with its exact (Clopper-Pearson) binomial interval."""
    ci = stats.binomtest(successes, trials).proportion_ci(confidence, method="exact")
    method = f"exact binomial interval over {what}"
    return Estimate(successes / trials, ci.low, ci.high, trials, method)


def confidence_per_check(checks: int) -> float:
    """Each check's confidence so that ``checks`` of them hold together with
    ``FAMILY_CONFIDENCE`` (Bonferroni)."""
    return 1 - (1 - FAMILY_CONFIDENCE) / checks


# -- scenarios ---------------------------------------------------------------


def scenario(
    *,
    seed: int,
    duration_s: float,
    warmup_s: float,
    subscribers: int,
    rate_per_s: float,
    strategy: dict[str, Any],
    service_time_s: dict[str, Any] | None = None,
    concurrency: int = 1,
    latency_s: float = 0.0,
) -> Scenario:
    """A validated scenario for a check: Poisson arrivals, a fixed one-way
    network latency (zero unless given), free CPU, one strategy."""
    return Scenario.model_validate(
        {
            "name": "validate",
            "simulation": {
                "duration_s": duration_s,
                "warmup_s": warmup_s,
                "seed": seed,
                "replications": 1,
            },
            "workload": {
                "subscribers": subscribers,
                "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
                "payload_bytes": {"kind": "fixed", "value": 100.0},
            },
            "network": {
                "latency_s": {"kind": "fixed", "value": latency_s},
                "request_overhead_bytes": 0,
                "response_overhead_bytes": 0,
            },
            "costs": {
                "cpu_s_per_request_sent": 0.0,
                "cpu_s_per_request_handled": 0.0,
                "cpu_s_per_kib_serialised": 0.0,
                "cpu_s_per_kib_deserialised": 0.0,
            },
            "subscriber": {
                "service_time_s": service_time_s or {"kind": "fixed", "value": 0.0},
                "concurrency": concurrency,
            },
            "strategies": [strategy],
        }
    )


# -- periodic polling by one consumer ----------------------------------------
#
# One consumer polls every T = 2 s a stream of 0.5 events/s (L T = 1, so a
# third of polls are empty) for 60,000 s: about 30,000 events and 30,000
# polls. No network delay and no service time, so the reaction latency is
# the wait for the next poll; a batch limit above any batch keeps every poll
# on the grid.

POLL_INTERVAL_S = 2.0
POLL_RATE_PER_S = 0.5


def _one_poller(seed: int) -> Scenario:
    return scenario(
        seed=seed,
        duration_s=60_000.0,
        warmup_s=10 * POLL_INTERVAL_S,
        subscribers=1,
        rate_per_s=POLL_RATE_PER_S,
        strategy={
            "name": "poll",
            "kind": "short_poll",
            "interval_s": POLL_INTERVAL_S,
            "max_batch": 1_000_000,
        },
    )


def _poll_latency(seed: int, runs: Runs) -> np.ndarray:
    latency = runs.outcome(_one_poller(seed), "poll", 0).latency_s
    # an undelivered event would be NaN and would fail the check through
    # the mean of the remaining ones; none is expected here
    return latency[~np.isnan(latency)]


def _poll_mean(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    # Given their number, Poisson arrivals are independent uniforms, so each
    # event's wait is an independent U(0, T) draw.
    samples = _poll_latency(seed, runs)
    estimate = t_interval(samples, confidence, "independent samples")
    return theory.periodic_poll_mean_wait_s(POLL_INTERVAL_S), estimate


def _poll_quantile(q: float) -> Measure:
    def measure(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
        samples = _poll_latency(seed, runs)
        expected = theory.periodic_poll_wait_quantile_s(POLL_INTERVAL_S, q)
        return expected, quantile_interval(samples, q, confidence)

    return measure


def _poll_empty(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    # Successive polls cover disjoint intervals of length T, so each is
    # empty independently with the same probability.
    m = runs.metrics(_one_poller(seed), "poll", 0)
    estimate = proportion_interval(
        int(m["empty_polls"]), int(m["polls"]), confidence, "independent polls"
    )
    expected = theory.periodic_poll_empty_fraction(POLL_RATE_PER_S, POLL_INTERVAL_S)
    return expected, estimate


# -- competing consumers polling one shared queue ----------------------------
#
# N = 4 consumers poll one queue every T = 1 s at independent uniform
# phases; 1 event/s. One run has one set of phases, whose own mean wait
# scatters widely around T / (N + 1), so the unit of independence is the
# replication: 1,000 replications of 60 s (about 60 events each).

SHARED_CONSUMERS = 4
SHARED_INTERVAL_S = 1.0
SHARED_REPLICATIONS = 1000


def _shared_queue_missing() -> str | None:
    if "shared_queue" in ShortPoll.model_fields:
        return None
    return (
        "sim.scenario.ShortPoll has no 'shared_queue' field: the model cannot "
        "yet put competing consumers on one queue"
    )


def _shared_queue(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    s = scenario(
        seed=seed,
        duration_s=60.0,
        warmup_s=0.0,
        subscribers=SHARED_CONSUMERS,
        rate_per_s=1.0,
        strategy={
            "name": "shared",
            "kind": "short_poll",
            "interval_s": SHARED_INTERVAL_S,
            "max_batch": 1_000_000,
            "phase": "random",
            "shared_queue": True,
        },
    )
    means = []
    for rep in range(SHARED_REPLICATIONS):
        latency = runs.outcome(s, "shared", rep).latency_s
        if latency.size:
            # NaN (an event no consumer took) makes the mean NaN on purpose
            means.append(float(latency.mean()))
    expected = theory.shared_queue_mean_wait_s(SHARED_INTERVAL_S, SHARED_CONSUMERS)
    return expected, t_interval(means, confidence, "replication means")


# -- long polling ------------------------------------------------------------
#
# One consumer long-polls with W = 1 s a stream of 1 event/s (L W = 1).
# Requests per event is a ratio of two counts of one run, so the interval
# comes from 40 replications of 2,000 s (80,000 events in all). The second
# setting adds a fixed 0.25 s one-way latency: a 0.5 s round trip between an
# answer and the next poll.

LONG_RATE_PER_S = 1.0
LONG_WAIT_S = 1.0
LONG_REPLICATIONS = 40


def _long_poll_runs(seed: int, runs: Runs, latency_s: float) -> list[dict[str, float]]:
    s = scenario(
        seed=seed,
        duration_s=2_000.0 + 10 * LONG_WAIT_S,
        warmup_s=10 * LONG_WAIT_S,
        subscribers=1,
        rate_per_s=LONG_RATE_PER_S,
        latency_s=latency_s,
        strategy={
            "name": "long",
            "kind": "long_poll",
            "wait_s": LONG_WAIT_S,
            "max_batch": 1_000_000,
        },
    )
    return [runs.metrics(s, "long", rep) for rep in range(LONG_REPLICATIONS)]


def _long_requests(latency_s: float) -> Measure:
    def measure(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
        rows = _long_poll_runs(seed, runs, latency_s)
        values = [m["requests_total"] / m["events_published"] for m in rows]
        expected = theory.long_poll_requests_per_event(
            LONG_RATE_PER_S, LONG_WAIT_S, round_trip_s=2 * latency_s
        )
        return expected, t_interval(values, confidence, "replication ratios")

    return measure


def _long_empties(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    rows = _long_poll_runs(seed, runs, 0.0)
    values = [m["empty_polls"] / m["events_published"] for m in rows]
    expected = theory.long_poll_empty_answers_per_event(LONG_RATE_PER_S, LONG_WAIT_S)
    return expected, t_interval(values, confidence, "replication ratios")


# -- push into a queueing subscriber -----------------------------------------
#
# Fan-out to one subscriber whose workers form the queue's servers. The
# publisher's concurrency (10^6 calls) and timeout (10^4 s) never bind and
# the network takes no time, so an event reaches the subscriber as it is
# published and its reaction latency (until a worker starts on it) is its
# wait in queue. 40 replications, each with a 200 s warm-up (about ten
# relaxation times of these queues) and about 7,500 events; the waits of
# one run are correlated, the replication means are not.

QUEUE_REPLICATIONS = 40
QUEUE_WARMUP_S = 200.0
QUEUE_EVENTS = 7_500
SERVICE_MEAN_S = 1.0


def _queue_waits(
    seed: int,
    runs: Runs,
    *,
    rate_per_s: float,
    service_time_s: dict[str, Any],
    concurrency: int,
) -> list[float]:
    s = scenario(
        seed=seed,
        duration_s=QUEUE_WARMUP_S + QUEUE_EVENTS / rate_per_s,
        warmup_s=QUEUE_WARMUP_S,
        subscribers=1,
        rate_per_s=rate_per_s,
        service_time_s=service_time_s,
        concurrency=concurrency,
        strategy={
            "name": "fanout",
            "kind": "fanout",
            "concurrency": 1_000_000,
            "timeout_s": 10_000.0,
        },
    )
    return [
        float(runs.outcome(s, "fanout", rep).latency_s.mean())
        for rep in range(QUEUE_REPLICATIONS)
    ]


EXPONENTIAL_SERVICE = {"kind": "exponential", "mean": SERVICE_MEAN_S}
MM1_RATE_PER_S = 0.5
MD1_RATE_PER_S = 0.6
MMC_SERVERS = 2
MMC_RATE_PER_S = 1.0


def _mm1(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    waits = _queue_waits(
        seed,
        runs,
        rate_per_s=MM1_RATE_PER_S,
        service_time_s=EXPONENTIAL_SERVICE,
        concurrency=1,
    )
    expected = theory.mm1_wait_s(MM1_RATE_PER_S, 1 / SERVICE_MEAN_S)
    return expected, t_interval(waits, confidence, "replication means")


def _md1(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    waits = _queue_waits(
        seed,
        runs,
        rate_per_s=MD1_RATE_PER_S,
        service_time_s={"kind": "fixed", "value": SERVICE_MEAN_S},
        concurrency=1,
    )
    expected = theory.md1_wait_s(MD1_RATE_PER_S, SERVICE_MEAN_S)
    return expected, t_interval(waits, confidence, "replication means")


def _mmc(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
    waits = _queue_waits(
        seed,
        runs,
        rate_per_s=MMC_RATE_PER_S,
        service_time_s=EXPONENTIAL_SERVICE,
        concurrency=MMC_SERVERS,
    )
    expected = theory.mmc_wait_s(MMC_RATE_PER_S, 1 / SERVICE_MEAN_S, MMC_SERVERS)
    return expected, t_interval(waits, confidence, "replication means")


# -- retry backoff -----------------------------------------------------------
#
# Each check draws 20,000 independent delivery histories of 6 retries from
# the model's own Backoff and compares the mean total delay (retries 1 to 6)
# with the sum of the expected delays. Base 0.5 s and cap 10 s make the cap
# bind from retry 6 (exponential) or earlier (decorrelated).

BACKOFF_HISTORIES = 20_000
BACKOFF_RETRIES = 6
BACKOFF = {"base_s": 0.5, "cap_s": 10.0, "multiplier": 2.0}
SCHEDULE_S = (1.0, 5.0, 10.0, 30.0)
SCHEDULE_RANDOMISATION = 0.2


def _total_delays(policy: Any, seed: int, name: str) -> np.ndarray:
    key = (zlib.crc32(name.encode("utf-8")),)
    sequence = np.random.SeedSequence(seed, spawn_key=key)
    rng = np.random.Generator(np.random.PCG64(sequence))
    backoff = Backoff(policy, rng)
    totals = np.empty(BACKOFF_HISTORIES)
    for i in range(BACKOFF_HISTORIES):
        previous, total = None, 0.0
        for retry in range(1, BACKOFF_RETRIES + 1):
            previous = backoff.delay(retry, previous)
            total += previous
        totals[i] = total
    return totals


def _exponential_backoff(jitter: str) -> Measure:
    def measure(seed: int, confidence: float, runs: Runs) -> tuple[float, Estimate]:
        policy = ExponentialRetry(kind="exponential", jitter=jitter, **BACKOFF)
        totals = _total_delays(policy, seed, f"backoff.{jitter}")
        expected = sum(
            theory.exponential_backoff_mean_delay_s(retry=k, jitter=jitter, **BACKOFF)
            for k in range(1, BACKOFF_RETRIES + 1)
        )
        return expected, t_interval(totals, confidence, "independent histories")

    return measure


def _schedule_backoff(
    seed: int, confidence: float, runs: Runs
) -> tuple[float, Estimate]:
    policy = ScheduleRetry(
        kind="schedule", delays_s=SCHEDULE_S, randomisation=SCHEDULE_RANDOMISATION
    )
    totals = _total_delays(policy, seed, "backoff.schedule")
    retries = range(1, BACKOFF_RETRIES + 1)
    expected = sum(theory.scheduled_mean_delay_s(SCHEDULE_S, k) for k in retries)
    return expected, t_interval(totals, confidence, "independent histories")


# -- the list ----------------------------------------------------------------

_POLL = f"one consumer, T = {POLL_INTERVAL_S:g} s, L = {POLL_RATE_PER_S:g}/s"
_LONG = f"L = {LONG_RATE_PER_S:g}/s, W = {LONG_WAIT_S:g} s"
_RETRIES = f"sum over retries 1..{BACKOFF_RETRIES}"
_EXP = f"base {BACKOFF['base_s']:g} s, cap {BACKOFF['cap_s']:g} s"

CHECKS: tuple[Check, ...] = (
    Check("short_poll.mean_latency", f"T / 2 ({_POLL})", _poll_mean),
    Check("short_poll.p90_latency", f"p T, p = 0.9 ({_POLL})", _poll_quantile(0.9)),
    Check("short_poll.p99_latency", f"p T, p = 0.99 ({_POLL})", _poll_quantile(0.99)),
    Check("short_poll.empty_fraction", f"e^(-L T) ({_POLL})", _poll_empty),
    Check(
        "shared_queue.mean_latency",
        f"T / (N + 1) (N = {SHARED_CONSUMERS} consumers, random phases, "
        f"T = {SHARED_INTERVAL_S:g} s)",
        _shared_queue,
        _shared_queue_missing,
    ),
    Check(
        "long_poll.requests_per_event",
        f"1 / (1 - e^(-L W)) ({_LONG})",
        _long_requests(0.0),
    ),
    Check(
        "long_poll.empty_answers_per_event",
        f"e^(-L W) / (1 - e^(-L W)) ({_LONG})",
        _long_empties,
    ),
    Check(
        "long_poll.requests_per_event_with_round_trip",
        f"1 / (L R + e^(-L R) (1 - e^(-L W))) ({_LONG}, R = 0.5 s)",
        _long_requests(0.25),
    ),
    Check(
        "push.mm1_wait",
        f"M/M/1 Wq = rho / (mu - L) (L = {MM1_RATE_PER_S:g}/s, mu = 1/s)",
        _mm1,
    ),
    Check(
        "push.md1_wait",
        f"M/D/1 Pollaczek-Khinchine Wq = L D^2 / (2 (1 - rho)) "
        f"(L = {MD1_RATE_PER_S:g}/s, D = 1 s)",
        _md1,
    ),
    Check(
        "push.mmc_wait",
        f"M/M/c Erlang C Wq = C(c, L / mu) / (c mu - L) "
        f"(c = {MMC_SERVERS}, L = {MMC_RATE_PER_S:g}/s, mu = 1/s)",
        _mmc,
    ),
    Check(
        "backoff.exponential",
        f"{_RETRIES} of min(cap, base 2^(k-1)) ({_EXP})",
        _exponential_backoff("none"),
    ),
    Check(
        "backoff.full_jitter",
        f"{_RETRIES} of c_k / 2, c_k = min(cap, base 2^(k-1)) ({_EXP})",
        _exponential_backoff("full"),
    ),
    Check(
        "backoff.equal_jitter",
        f"{_RETRIES} of 3 c_k / 4 ({_EXP})",
        _exponential_backoff("equal"),
    ),
    Check(
        "backoff.decorrelated_jitter",
        f"{_RETRIES} of E[min(cap, U(base, 3 D_(k-1)))], D_0 = base ({_EXP})",
        _exponential_backoff("decorrelated"),
    ),
    Check(
        "backoff.schedule_randomised",
        f"{_RETRIES} of d_k, each x U(1 - r, 1 + r) (d = {list(SCHEDULE_S)} s, "
        f"r = {SCHEDULE_RANDOMISATION:g})",
        _schedule_backoff,
    ),
)


def select_checks(only: str | None = None) -> list[Check]:
    """The checks whose name contains ``only`` (all of them for None)."""
    if only is None:
        return list(CHECKS)
    chosen = [c for c in CHECKS if only in c.name]
    if not chosen:
        raise ValueError(
            f"no check name contains {only!r}; the checks are "
            f"{', '.join(c.name for c in CHECKS)}"
        )
    return chosen


def run_check(
    check: Check, seed: int = DEFAULT_SEED, runs: Runs | None = None
) -> CheckResult:
    """Run one check; its interval has the confidence of one in all
    :data:`CHECKS` (:func:`confidence_per_check`)."""
    confidence = confidence_per_check(len(CHECKS))
    reason = check.missing()
    if reason is not None:
        nan = math.nan
        return CheckResult(
            check.name,
            check.formula,
            nan,
            nan,
            nan,
            nan,
            None,
            confidence,
            skipped=reason,
        )

    expected, est = check.measure(seed, confidence, runs or Runs())
    # a zero-width interval (a deterministic quantity) still allows rounding
    slack = 1e-9 * abs(expected)
    passed = est.ci_low - slack <= expected <= est.ci_high + slack
    return CheckResult(
        check.name,
        check.formula,
        expected,
        est.value,
        est.ci_low,
        est.ci_high,
        bool(passed),
        confidence,
        est.n,
        est.method,
    )


def run_checks(
    seed: int = DEFAULT_SEED, only: str | None = None
) -> Iterator[CheckResult]:
    """Run the checks (those whose name contains ``only``), yielding each
    result as it is ready; checks share the simulations they have in
    common."""
    runs = Runs()
    for check in select_checks(only):
        yield run_check(check, seed, runs)
