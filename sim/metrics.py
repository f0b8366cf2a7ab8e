"""From a run's raw measurements to one row of named, unit-carrying metrics.

Every metric's name carries its unit (``_s`` seconds, ``bytes_``, counts and
fractions bare). Per-event figures divide the window's totals by the events
published in the window; they are NaN when no event was published.
Percentiles are exact: computed from every reaction-latency sample of the
window with linear interpolation between order statistics.

Beside the row, :func:`latency_quantiles` keeps the shape of a run's whole
reaction-latency distribution in a fixed number of quantiles
(:data:`LATENCY_QUANTILE_LEVELS`), from which a CDF is drawn without keeping
every sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import Outcome


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    description: str


METRICS: tuple[Metric, ...] = (
    Metric(
        "events_published",
        "events published",
        "events",
        "events published in the measurement window",
    ),
    Metric(
        "deliveries",
        "deliveries",
        "deliveries",
        "(event, subscriber) pairs handled, for events of the window",
    ),
    Metric(
        "undelivered",
        "undelivered",
        "deliveries",
        "(event, subscriber) pairs still missing when the run stopped",
    ),
    Metric(
        "latency_censored",
        "latency samples censored",
        "deliveries",
        "pairs still on their way when the run stopped; they enter the "
        "latency figures with the wait so far, making them lower bounds",
    ),
    Metric(
        "latency_mean_s",
        "reaction latency, mean",
        "s",
        "mean time from publish until a subscriber's worker starts on the event",
    ),
    Metric("latency_p50_s", "reaction latency, median", "s", "50th percentile"),
    Metric("latency_p90_s", "reaction latency, p90", "s", "90th percentile"),
    Metric("latency_p99_s", "reaction latency, p99", "s", "99th percentile"),
    Metric("latency_max_s", "reaction latency, max", "s", "largest sample"),
    Metric(
        "round_trip_mean_s",
        "round trip, mean",
        "s",
        "request-reply only: publish of a request until its reply is back",
    ),
    Metric("round_trip_p50_s", "round trip, median", "s", "50th percentile"),
    Metric("round_trip_p99_s", "round trip, p99", "s", "99th percentile"),
    Metric("cpu_s_total", "CPU, total", "s", "modelled CPU of all roles"),
    Metric("cpu_s_publisher", "CPU, publisher", "s", "modelled CPU of the publisher"),
    Metric("cpu_s_broker", "CPU, broker", "s", "modelled CPU of the broker"),
    Metric(
        "cpu_s_subscribers",
        "CPU, subscribers",
        "s",
        "modelled CPU of all subscribers (or consumers) together",
    ),
    Metric(
        "cpu_s_storage",
        "CPU, storage",
        "s",
        "modelled CPU of object storage serving claim-checked payloads",
    ),
    Metric(
        "cpu_s_sidecars",
        "CPU, sidecars",
        "s",
        "modelled CPU of sidecar proxies, and retries they own",
    ),
    Metric("cpu_s_per_event", "CPU per event", "s", "cpu_s_total / events_published"),
    Metric("bytes_total", "bytes, total", "B", "bytes on all links, both directions"),
    Metric(
        "bytes_publisher_subscribers",
        "bytes, publisher-subscribers",
        "B",
        "polls and their answers, or direct fan-out calls",
    ),
    Metric(
        "bytes_publisher_broker",
        "bytes, publisher-broker",
        "B",
        "the publisher's POSTs to the broker",
    ),
    Metric(
        "bytes_broker_subscribers",
        "bytes, broker-subscribers",
        "B",
        "the broker's pushes to subscribers",
    ),
    Metric(
        "bytes_storage",
        "bytes, storage",
        "B",
        "claim-checked payloads stored and fetched",
    ),
    Metric("bytes_per_event", "bytes per event", "B", "bytes_total / events_published"),
    Metric("requests_total", "HTTP requests", "requests", "requests of every kind"),
    Metric(
        "requests_per_event",
        "requests per event",
        "requests",
        "requests_total / events_published",
    ),
    Metric(
        "requests_publisher_subscribers",
        "requests, publisher-subscribers",
        "requests",
        "polls, or direct fan-out calls",
    ),
    Metric(
        "requests_publisher_broker",
        "requests, publisher-broker",
        "requests",
        "the publisher's POSTs to the broker",
    ),
    Metric(
        "requests_broker_subscribers",
        "requests, broker-subscribers",
        "requests",
        "the broker's pushes, retries included",
    ),
    Metric(
        "requests_storage", "requests, storage", "requests", "claim-check PUTs and GETs"
    ),
    Metric(
        "polls",
        "polls",
        "requests",
        "polls answered (a long poll still held when the run stops is a "
        "request, not yet a poll)",
    ),
    Metric("empty_polls", "empty polls", "requests", "polls answered with no event"),
    Metric(
        "empty_poll_fraction",
        "empty-poll fraction",
        "",
        "empty_polls / polls; NaN for strategies that do not poll",
    ),
    Metric(
        "timeouts",
        "timed-out calls",
        "requests",
        "push calls whose caller gave up waiting for the reply",
    ),
    Metric(
        "transport_errors",
        "refused connections",
        "requests",
        "push attempts refused before any request was sent",
    ),
    Metric(
        "http_4xx",
        "4xx answers",
        "requests",
        "400 answers (not retried); 429 is counted apart",
    ),
    Metric("http_429", "429 answers", "requests", "rate-limited answers"),
    Metric("http_5xx", "5xx answers", "requests", "500 and 503 answers"),
    Metric("retries", "retries", "requests", "attempts after the first"),
    Metric(
        "dead_lettered",
        "dead-lettered",
        "deliveries",
        "deliveries given up: retries or time to live exhausted, or a 400 "
        "(an attempt that timed out may still have been handled)",
    ),
    Metric(
        "duplicates",
        "duplicates",
        "deliveries",
        "events a subscriber received again after handling them",
    ),
    Metric(
        "redeliveries",
        "redeliveries",
        "deliveries",
        "events a polled source handed out again, unacknowledged in time",
    ),
    Metric(
        "subscriber_down_s",
        "subscriber downtime",
        "s",
        "seconds subscribers spent down in the window, summed over them",
    ),
)
METRIC_NAMES = tuple(m.name for m in METRICS)
LATENCY_METRICS = (
    "latency_mean_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "latency_max_s",
)
BY_NAME = {m.name: m for m in METRICS}

# the runs-frame column holding each run's latency quantiles, a list
LATENCY_QUANTILES = "latency_quantiles_s"
# probabilities at which a run's reaction-latency distribution is kept: every
# percentile, then finer steps into the tail
LATENCY_QUANTILE_LEVELS: tuple[float, ...] = (
    *(i / 100 for i in range(100)),
    0.995,
    0.999,
    1.0,
)


def metrics_row(outcome: Outcome) -> dict[str, float]:
    """The metrics of one run, in the order of :data:`METRICS`."""
    events = outcome.events_published
    c = outcome.counts
    latency, delivered, samples = _latency_samples(outcome)
    cpu_total = sum(outcome.cpu_s.values())
    bytes_total = sum(outcome.bytes.values())

    if samples.size:
        p50, p90, p99 = np.percentile(samples, [50, 90, 99])
        summary = (samples.mean(), p50, p90, p99, samples.max())
    else:
        summary = (np.nan,) * 5

    row = {
        "events_published": events,
        "deliveries": int(delivered.size),
        "undelivered": int(latency.size - delivered.size),
        "latency_censored": int(outcome.censored_s.size),
        **dict(zip(LATENCY_METRICS, map(float, summary))),
        **_round_trips(outcome.round_trip_s),
        "cpu_s_total": cpu_total,
        **{f"cpu_s_{role}": v for role, v in outcome.cpu_s.items()},
        "cpu_s_per_event": _per(cpu_total, events),
        "bytes_total": bytes_total,
        **{f"bytes_{link}": v for link, v in outcome.bytes.items()},
        "bytes_per_event": _per(bytes_total, events),
        "requests_total": c["requests"],
        "requests_per_event": _per(c["requests"], events),
        **{k: c[k] for k in c if k.startswith("requests_")},
        "polls": outcome.polls,
        "empty_polls": outcome.empty_polls,
        "empty_poll_fraction": _per(outcome.empty_polls, outcome.polls),
        **{
            k: c[k]
            for k in (
                "timeouts",
                "transport_errors",
                "http_429",
                "retries",
                "dead_lettered",
                "duplicates",
                "redeliveries",
            )
        },
        "http_4xx": c["http_400"],
        "http_5xx": c["http_500"] + c["http_503"],
        "subscriber_down_s": outcome.down_s,
    }
    return {name: row[name] for name in METRIC_NAMES}


def latency_quantiles(outcome: Outcome) -> tuple[float, ...]:
    """The reaction latency of one run at each of
    :data:`LATENCY_QUANTILE_LEVELS` (the same samples as the row's
    percentiles, interpolated the same way); empty when the run has none."""
    samples = _latency_samples(outcome)[2]
    if not samples.size:
        return ()
    return tuple(map(float, np.quantile(samples, LATENCY_QUANTILE_LEVELS)))


def _latency_samples(outcome: Outcome) -> tuple[np.ndarray, ...]:
    """Wanted pairs' latencies (NaN: undelivered), the delivered ones, and
    every sample the latency figures use."""
    latency = outcome.latency_s
    if outcome.wanted is not None:
        latency = latency[outcome.wanted]
    delivered = latency[~np.isnan(latency)]
    # events still on their way count with the wait they have had so far,
    # which makes every latency figure a lower bound when there are any
    return latency, delivered, np.concatenate([delivered, outcome.censored_s])


def _round_trips(samples: np.ndarray | None) -> dict[str, float]:
    names = ("round_trip_mean_s", "round_trip_p50_s", "round_trip_p99_s")
    if samples is None or np.isnan(samples).all():
        return dict.fromkeys(names, float("nan"))
    done = samples[~np.isnan(samples)]
    p50, p99 = np.percentile(done, [50, 99])
    return dict(zip(names, (float(done.mean()), float(p50), float(p99))))


def _per(total: float, count: int) -> float:
    return total / count if count else float("nan")
