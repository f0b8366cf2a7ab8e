"""What a run would cost per month: a price table and one pure function.

A :class:`Prices` table says what a managed service charges (per million
publishes, per million delivery attempts, per million requests to a polled
queue, per unit of data on chosen links) and what self-hosted CPU costs (per
vCPU-hour). :func:`monthly_cost` applies it to one run's metrics row,
scaling the measurement window's totals to a 30-day month.

Named presets (:data:`PRICE_PRESETS`) hold provider prices with the page
each figure was read from and the date it was read. Where the search found
no figure, the preset says so and leaves it out, or, where the figure is the
service's main charge, marks it unknown (None), which makes the cost NaN
rather than a number nobody should believe. Free tiers are not modelled:
every preset prices from the first request.

Prices are list prices in USD for one region (AWS: US East, N. Virginia),
without taxes, discounts, commitments or volume tiers beyond the first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from sim._base import Frozen

Link = Literal["publisher_subscribers", "publisher_broker", "broker_subscribers"]
Role = Literal["publisher", "broker", "subscribers"]
StrategyKind = Literal["short_poll", "long_poll", "fanout", "broker"]
DataUnit = Literal["GB", "GiB", "TiB"]

MONTH_S = 30 * 86_400.0
UNIT_BYTES = {"GB": 1e9, "GiB": 2.0**30, "TiB": 2.0**40}
POLLING_KINDS = ("short_poll", "long_poll")
COMPONENTS = ("publishes", "deliveries", "source_requests", "data", "compute")
COST_COLUMNS = tuple(f"cost_usd_per_month_{c}" for c in COMPONENTS) + (
    "cost_usd_per_month",
)
REQUIRED_METRICS = (
    "events_published",
    "deliveries",
    "requests_total",
    "polls",
    "retries",
    "dead_lettered",
    "bytes_publisher_subscribers",
    "bytes_publisher_broker",
    "bytes_broker_subscribers",
    "cpu_s_publisher",
    "cpu_s_broker",
    "cpu_s_subscribers",
)
_LINKS = ("publisher_subscribers", "publisher_broker", "broker_subscribers")
OPTIONAL_METRICS = tuple(f"requests_{link}" for link in _LINKS) + tuple(
    f"payload_bytes_{link}" for link in _LINKS
)

_NOW = "2026-12-04"  # the day the presets' pages were read

# Every preset cites where its figures come from. The official pricing pages
# of AWS (aws.amazon.com/sns/pricing, /sqs/pricing) were not in the search
# index; their figures come from the secondary pages named, which quote them.
PRICE_PRESETS: dict[str, dict[str, Any]] = {
    # Amazon SNS, standard topic with HTTP/S subscriptions: $0.50 per million
    # publishes and $0.60 per million HTTP/S deliveries ("Amazon SNS Pricing:
    # Why a Single Publish Can Bill as Four Charges", factualminds.com,
    # published 2026-06-13, which quotes the SNS pricing page). Delivery
    # attempts, retries included, are billed. Not included: data transfer
    # (no SNS figure found; add usd_per_data_unit and billed_links), the
    # 64 KB publish chunking (not found stated), the free tier.
    "aws_sns": {
        "name": "Amazon SNS, standard topic, HTTP/S deliveries",
        "source": "https://www.factualminds.com/blog/"
        "amazon-sns-pricing-publishes-fanout-protocols/ (2026-06-13)",
        "as_of": _NOW,
        "carries": ("broker",),
        "usd_per_million_publishes": 0.50,
        "usd_per_million_deliveries": 0.60,
    },
    # Amazon SQS, standard queue, as the source consumers poll: $0.40 per
    # million requests (first tier, to 100 billion a month); every action is
    # a request (SendMessage, ReceiveMessage even when empty, DeleteMessage);
    # each 64 KB chunk of a request's payload is billed as one request; data
    # transfer in is free, out to the internet $0.09 per GB for the first
    # 10 TB (cloudburn.io, "Amazon SQS Pricing: Complete Guide", 2026-03-14;
    # unanswered.io, "AWS SQS pricing and cost optimization"). Assumed here:
    # consumers outside AWS (remove billed_links if they run in the region);
    # one DeleteMessage per event received (batching would cost less).
    "aws_sqs": {
        "name": "Amazon SQS, standard queue polled by consumers",
        "source": "https://cloudburn.io/blog/amazon-sqs-pricing (2026-03-14); "
        "https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization",
        "as_of": _NOW,
        "carries": ("short_poll", "long_poll"),
        "usd_per_million_source_requests": 0.40,
        "enqueue_billed": True,
        "request_chunk_bytes": 65_536,
        "usd_per_data_unit": 0.09,
        "data_unit": "GB",
        "billed_links": ("publisher_subscribers",),
    },
    # Azure Event Grid, basic tier (custom topics, push delivery): billed per
    # operation; ingress of an event, an advanced match, a delivery attempt
    # and a management call are each one; 100,000 operations a month are
    # free (azure.microsoft.com/pricing/details/event-grid/). The price per
    # million operations is rendered by script on that page and was not in
    # the stored copy: it is unknown here (None), so costs come out NaN
    # until it is given.
    "azure_event_grid": {
        "name": "Azure Event Grid, basic tier",
        "source": "https://azure.microsoft.com/pricing/details/event-grid/",
        "as_of": _NOW,
        "carries": ("broker",),
        "usd_per_million_publishes": None,
        "usd_per_million_deliveries": None,
    },
    # Google Cloud Pub/Sub, push subscription: throughput (publish and
    # delivery) at $40 per TiB; at least 1000 bytes are billed per publish,
    # push or pull request; the first 10 GiB a month are free
    # (cloud.google.com/pubsub/pricing). Volume counts the message data and
    # attributes, not HTTP framing: the bytes metrics, which include it,
    # overstate volume unless payload_bytes_* columns are given. Egress
    # between regions is not included.
    "gcp_pubsub": {
        "name": "Google Cloud Pub/Sub, push subscription",
        "source": "https://cloud.google.com/pubsub/pricing",
        "as_of": _NOW,
        "carries": ("broker",),
        "usd_per_data_unit": 40.0,
        "data_unit": "TiB",
        "billed_links": ("publisher_broker", "broker_subscribers"),
        "minimum_billable_bytes_per_request": 1000,
    },
    # Self-hosted CPU: Amazon EC2 m7g.large (2 vCPUs), Linux, on demand, US
    # East (N. Virginia), $0.0816 an hour ("Amazon EC2 On-Demand Pricing",
    # factualminds.com, 2026-06-17): $0.0408 per vCPU-hour. Charges the
    # CPU of every modelled role, the broker's too (a self-hosted broker).
    "compute_vcpu": {
        "name": "self-hosted CPU, EC2 m7g.large on demand",
        "source": "https://www.factualminds.com/blog/"
        "amazon-ec2-on-demand-pricing-instance-families-2026/ (2026-06-17)",
        "as_of": _NOW,
        "carries": (),
        "usd_per_vcpu_hour": 0.0816 / 2,
        "cpu_roles": ("publisher", "broker", "subscribers"),
    },
}

PresetName = Literal[
    "aws_sns", "aws_sqs", "azure_event_grid", "gcp_pubsub", "compute_vcpu"
]
_Price = float | None


class Prices(Frozen):
    """A price table, in USD.

    Managed-service charges apply to runs of the strategy kinds in
    ``carries`` (when the metrics row names its ``kind``):

    - ``usd_per_million_publishes``: each event the publisher hands to a
      broker (SNS Publish, an Event Grid ingress operation);
    - ``usd_per_million_deliveries``: each push attempt by the broker,
      retries included (SNS HTTP/S notifications, Event Grid delivery
      attempts);
    - ``usd_per_million_source_requests``: each request to a managed queue
      that consumers poll (SQS ReceiveMessage, empty or not, and the
      DeleteMessage acknowledgements of a strategy with ``ack``), plus, with
      ``enqueue_billed``, one SendMessage per event and queue;
    - ``request_chunk_bytes``: a request whose body is larger is billed once
      per started chunk (SQS: 64 KiB);
    - ``usd_per_data_unit`` per ``data_unit`` of bytes on ``billed_links``,
      each request counting at least ``minimum_billable_bytes_per_request``.

    ``usd_per_vcpu_hour`` prices the modelled CPU seconds of ``cpu_roles``
    (always, whatever the strategy), divided by ``cpu_utilisation``: the
    share of a paid vCPU that does useful work (1 counts busy time only).

    A price of None is unknown: a component that needs it is NaN. ``preset``
    fills every field it names from :data:`PRICE_PRESETS`; fields given
    alongside it win. ``source`` and ``as_of`` say where the figures come
    from and when they were read.
    """

    preset: PresetName | None = None
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    carries: tuple[StrategyKind, ...] = Field(
        default=("short_poll", "long_poll", "fanout", "broker"), strict=False
    )
    usd_per_million_publishes: _Price = Field(default=0.0, ge=0)
    usd_per_million_deliveries: _Price = Field(default=0.0, ge=0)
    usd_per_million_source_requests: _Price = Field(default=0.0, ge=0)
    enqueue_billed: bool = False
    request_chunk_bytes: int | None = Field(default=None, gt=0)
    usd_per_data_unit: _Price = Field(default=0.0, ge=0)
    data_unit: DataUnit = "GB"
    billed_links: tuple[Link, ...] = Field(default=(), strict=False)
    minimum_billable_bytes_per_request: int = Field(default=0, ge=0)
    usd_per_vcpu_hour: _Price = Field(default=0.0, ge=0)
    cpu_roles: tuple[Role, ...] = Field(
        default=("publisher", "subscribers"), strict=False
    )
    cpu_utilisation: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("preset"), str):
            defaults = PRICE_PRESETS.get(data["preset"])
            if defaults is not None:
                return {**defaults, **data}
        return data


def preset(name: str, **changes: Any) -> Prices:
    """The named preset, with ``changes`` to its fields."""
    if name not in PRICE_PRESETS:
        raise ValueError(
            f"no price preset {name!r}; presets: {', '.join(PRICE_PRESETS)}"
        )
    return Prices.model_validate({"preset": name, **changes})


# -- billing rules -----------------------------------------------------------


def billed_requests(body_bytes: Iterable[float], chunk_bytes: int) -> int:
    """Requests billed when each counts once per started ``chunk_bytes`` of
    its body (an empty body is one request)."""
    sizes = np.asarray(list(body_bytes), dtype=float)
    return int(np.sum(np.maximum(1, np.ceil(sizes / chunk_bytes))))


def billable_bytes(body_bytes: Iterable[float], minimum_bytes: int) -> float:
    """Bytes billed when each request counts at least ``minimum_bytes``."""
    sizes = np.asarray(list(body_bytes), dtype=float)
    return float(np.sum(np.maximum(sizes, minimum_bytes)))


def monthly_cost(
    metrics_row: Mapping[str, Any], prices: Prices, window_s: float
) -> dict[str, float]:
    """USD per 30-day month of one run, by component and in total.

    ``metrics_row`` holds the metrics of one run over a window of
    ``window_s`` simulated seconds (``sim.metrics.METRIC_NAMES``; a row of
    ``runs.parquet`` also has ``kind``). Its totals are scaled by
    ``30 days / window_s``. Keys: ``cost_usd_per_month_publishes``,
    ``..._deliveries``, ``..._source_requests``, ``..._data``,
    ``..._compute`` and ``cost_usd_per_month``, their sum (NaN if any is).

    Optional columns, used when present: ``requests_<link>`` (requests on
    each link) and ``payload_bytes_<link>`` (bodies only, without HTTP
    framing). Without them, requests per link are inferred (see the docs),
    bytes include framing, and chunking and per-request minimums are
    applied to totals: ``max(n, ceil(bytes / chunk))`` and
    ``max(bytes, n * minimum)``, exact only when no request crosses the
    chunk size, or every request is above (or every one below) the minimum.
    """
    if not (
        isinstance(window_s, (int, float)) and math.isfinite(window_s) and window_s > 0
    ):
        raise ValueError(f"window_s must be a finite number > 0, got {window_s!r}")
    missing = [m for m in REQUIRED_METRICS if m not in metrics_row]
    if missing:
        raise ValueError(
            f"metrics row has no {', '.join(map(repr, missing))}; monthly_cost "
            f"needs {', '.join(REQUIRED_METRICS)}"
        )
    wanted = REQUIRED_METRICS + tuple(c for c in OPTIONAL_METRICS if c in metrics_row)
    row = {k: _number(k, metrics_row[k]) for k in wanted}
    use = _usage(row, metrics_row.get("kind"), prices)
    month = MONTH_S / window_s

    cost = {
        "publishes": _charge(prices.usd_per_million_publishes, use["publishes"] / 1e6),
        "deliveries": _charge(prices.usd_per_million_deliveries, use["attempts"] / 1e6),
        "source_requests": _charge(
            prices.usd_per_million_source_requests, use["source_requests"] / 1e6
        ),
        "data": _charge(
            prices.usd_per_data_unit, use["bytes"] / UNIT_BYTES[prices.data_unit]
        ),
        "compute": _charge(prices.usd_per_vcpu_hour, use["vcpu_hours"]),
    }
    result = {f"cost_usd_per_month_{k}": v * month for k, v in cost.items()}
    result["cost_usd_per_month"] = float(sum(result.values()))
    return result


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"metric {name!r} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"metric {name!r} must be >= 0, got {value!r}")
    return number


def _charge(price: float | None, quantity: float) -> float:
    # a quantity of nothing costs nothing, even at an unknown price
    if quantity == 0:
        return 0.0
    return math.nan if price is None else price * quantity


def _chunked(requests: float, body: float, prices: Prices) -> float:
    # at least one billed request per request, and one per started chunk
    if requests == 0:
        return 0.0
    return max(requests, math.ceil(body / prices.request_chunk_bytes))


def _usage(row: dict[str, float], kind: Any, prices: Prices) -> dict[str, float]:
    """What the window used that a price applies to (not yet scaled)."""
    events, deliveries = row["events_published"], row["deliveries"]
    broker = row.get("requests_publisher_broker", row["bytes_publisher_broker"]) > 0
    polling = kind in POLLING_KINDS if kind is not None else row["polls"] > 0
    managed = kind is None or kind in prices.carries

    # requests per link: measured when the row has them, else inferred
    publishes = row.get("requests_publisher_broker", events if broker else 0.0)
    attempts = row.get(
        "requests_broker_subscribers",
        deliveries + row["retries"] + row["dead_lettered"] if broker else 0.0,
    )
    direct = row.get(
        "requests_publisher_subscribers",
        0.0 if broker else row["requests_total"],
    )
    requests = {
        "publisher_broker": publishes,
        "broker_subscribers": attempts,
        "publisher_subscribers": direct,
    }
    body = {
        link: row.get(f"payload_bytes_{link}", row[f"bytes_{link}"])
        for link in requests
    }

    source = 0.0
    if polling:
        # one SendMessage per event and queue: each (event, subscriber) pair
        # with a queue per subscriber, each event with one shared queue
        pairs = deliveries + row.get("undelivered", 0.0)
        source = direct + (pairs if prices.enqueue_billed else 0.0)
    if prices.request_chunk_bytes:
        publishes = _chunked(publishes, body["publisher_broker"], prices)
        attempts = _chunked(attempts, body["broker_subscribers"], prices)
        source = _chunked(source, body["publisher_subscribers"], prices)

    minimum = prices.minimum_billable_bytes_per_request
    data = sum(
        max(body[link], requests[link] * minimum) for link in prices.billed_links
    )
    cpu = sum(row[f"cpu_s_{role}"] for role in prices.cpu_roles)

    if not managed:
        # this service does not carry the strategy: its price is unknown here
        publishes = attempts = source = data = float("nan")
    return {
        "publishes": float(publishes),
        "attempts": float(attempts),
        "source_requests": float(source),
        "bytes": float(data),
        "vcpu_hours": cpu / 3600 / prices.cpu_utilisation,
    }
