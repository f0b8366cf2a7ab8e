"""Price tables and the monthly cost of a run (sim.prices)."""

import math
import re

import pytest
from pydantic import ValidationError

from sim.metrics import METRIC_NAMES
from sim.prices import (
    OPTIONAL_METRICS,
    COST_COLUMNS,
    PRICE_PRESETS,
    REQUIRED_METRICS,
    Prices,
    billable_bytes,
    billed_requests,
    monthly_cost,
    preset,
)

HOUR = 3600.0
MONTH_PER_HOUR = 30 * 24  # a one-hour window scales by 720


def row(**metrics) -> dict:
    """A metrics row of zeros, with the given metrics; the per-link request
    counts are left out unless given, so monthly_cost infers them."""
    base = {name: 0.0 for name in METRIC_NAMES if name not in OPTIONAL_METRICS}
    base.update(metrics)
    return base


def test_the_metrics_row_has_every_column_monthly_cost_needs():
    assert set(REQUIRED_METRICS) <= set(METRIC_NAMES)


def test_sns_bills_publishes_and_delivery_attempts():
    run = row(
        kind="broker",
        events_published=1000,
        deliveries=10_000,
        requests_total=11_000,
        bytes_publisher_broker=1.35e6,
    )

    cost = monthly_cost(run, preset("aws_sns"), HOUR)

    # 720,000 publishes at $0.50/M; 7.2 M deliveries at $0.60/M
    assert cost["cost_usd_per_month_publishes"] == pytest.approx(0.36)
    assert cost["cost_usd_per_month_deliveries"] == pytest.approx(4.32)
    assert cost["cost_usd_per_month"] == pytest.approx(4.68)
    assert tuple(cost) == COST_COLUMNS


def test_retries_and_dead_letters_are_billed_attempts():
    run = row(
        kind="broker",
        events_published=100,
        deliveries=900,
        retries=150,
        dead_lettered=100,
        bytes_publisher_broker=1e5,
    )

    cost = monthly_cost(run, preset("aws_sns"), HOUR)

    assert cost["cost_usd_per_month_deliveries"] == pytest.approx(
        1150 * MONTH_PER_HOUR * 0.60 / 1e6
    )


def test_measured_requests_per_link_replace_the_inferred_ones():
    run = row(
        kind="broker",
        events_published=100,
        deliveries=900,
        retries=150,
        bytes_publisher_broker=1e5,
        requests_publisher_broker=120,
        requests_broker_subscribers=1000,
    )

    cost = monthly_cost(run, preset("aws_sns"), HOUR)

    assert cost["cost_usd_per_month_publishes"] == pytest.approx(120 * 720 * 0.5e-6)
    assert cost["cost_usd_per_month_deliveries"] == pytest.approx(1000 * 720 * 0.6e-6)


def test_sqs_bills_every_receive_and_delete_a_send_per_queue_and_egress():
    run = row(
        kind="long_poll",
        polls=2000,
        requests_total=2000,
        events_published=100,
        deliveries=1000,
        bytes_publisher_subscribers=1e6,
    )

    cost = monthly_cost(run, preset("aws_sqs"), HOUR)

    # (2000 receives + 1000 sends, one per event and queue) x 720 = 2.16 M at
    # $0.40/M; 1 MB x 720 = 0.72 GB at $0.09/GB. Deletes are requests the
    # strategy makes when it acknowledges; this row has none.
    assert cost["cost_usd_per_month_source_requests"] == pytest.approx(0.864)
    assert cost["cost_usd_per_month_data"] == pytest.approx(0.0648)
    assert cost["cost_usd_per_month"] == pytest.approx(0.9288)


def test_sqs_counts_each_started_64_kib_chunk_as_a_request():
    sizes = [0, 1, 65_536, 65_537, 256 * 1024]
    assert billed_requests(sizes, 65_536) == 1 + 1 + 1 + 2 + 4

    # ten 256 KiB answers: 40 billed requests, not 10
    run = row(
        kind="short_poll",
        polls=10,
        requests_total=10,
        requests_publisher_subscribers=10,
        payload_bytes_publisher_subscribers=10 * 256 * 1024,
        bytes_publisher_subscribers=10 * (256 * 1024 + 600),
    )

    cost = monthly_cost(run, preset("aws_sqs", billed_links=()), HOUR)

    assert cost["cost_usd_per_month_source_requests"] == pytest.approx(
        40 * MONTH_PER_HOUR * 0.40 / 1e6
    )


def test_small_sqs_requests_are_one_request_each():
    run = row(
        kind="short_poll",
        polls=3600,
        requests_total=3600,
        bytes_publisher_subscribers=3600 * 600.0,
    )

    cost = monthly_cost(run, preset("aws_sqs", billed_links=()), HOUR)

    assert cost["cost_usd_per_month_source_requests"] == pytest.approx(
        3600 * MONTH_PER_HOUR * 0.40 / 1e6
    )


def test_pubsub_bills_throughput_with_a_1000_byte_minimum_per_request():
    assert billable_bytes([10, 999, 1000, 5000], 1000) == 1000 + 1000 + 1000 + 5000

    run = row(
        kind="broker",
        events_published=1000,
        deliveries=3000,
        bytes_publisher_broker=1000 * 500.0,
        bytes_broker_subscribers=3000 * 2000.0,
    )

    cost = monthly_cost(run, preset("gcp_pubsub"), HOUR)

    # publishes raised to 1000 B each (1e6 B), pushes above it (6e6 B)
    tib = 7e6 * MONTH_PER_HOUR / 2**40
    assert cost["cost_usd_per_month_data"] == pytest.approx(40 * tib)
    assert cost["cost_usd_per_month"] == pytest.approx(40 * tib)


def test_cpu_seconds_become_vcpu_hours():
    run = row(kind="fanout", cpu_s_publisher=36, cpu_s_broker=18, cpu_s_subscribers=72)

    busy = monthly_cost(run, preset("compute_vcpu"), HOUR)
    half = monthly_cost(run, preset("compute_vcpu", cpu_utilisation=0.5), HOUR)
    own = monthly_cost(
        run,
        Prices(
            name="mine", source="a quote", as_of="2026-12-01", usd_per_vcpu_hour=0.05
        ),
        HOUR,
    )

    # 126 s an hour x 720 = 25.2 vCPU-hours at $0.0408
    assert busy["cost_usd_per_month_compute"] == pytest.approx(25.2 * 0.0408)
    assert half["cost_usd_per_month_compute"] == pytest.approx(2 * 25.2 * 0.0408)
    # by default the broker's CPU is the provider's, not the user's
    assert own["cost_usd_per_month"] == pytest.approx(108 * 720 / 3600 * 0.05)


def test_costs_scale_to_a_30_day_month():
    run = row(
        kind="broker",
        events_published=1000,
        deliveries=1000,
        bytes_publisher_broker=1e5,
    )

    hour = monthly_cost(run, preset("aws_sns"), HOUR)["cost_usd_per_month"]
    two_hours = monthly_cost(run, preset("aws_sns"), 2 * HOUR)["cost_usd_per_month"]

    assert two_hours == pytest.approx(hour / 2)
    assert hour == pytest.approx(2000 * 720 * 0.55e-6)


def test_a_provider_charges_only_the_strategies_it_carries():
    polling = row(
        kind="long_poll",
        polls=500,
        requests_total=500,
        events_published=10,
        deliveries=100,
        bytes_publisher_subscribers=1e5,
        cpu_s_publisher=1.0,
    )
    fanout = row(
        kind="fanout",
        events_published=10,
        deliveries=100,
        requests_total=100,
        bytes_publisher_subscribers=1e5,
    )

    # a service that does not carry the strategy cannot price it: unknown,
    # though the compute it runs on is still priced
    with_cpu = preset("aws_sns", usd_per_vcpu_hour=0.04)
    polled = monthly_cost(polling, with_cpu, HOUR)
    assert math.isnan(polled["cost_usd_per_month"])
    assert polled["cost_usd_per_month_compute"] == pytest.approx(720 / 3600 * 0.04)
    pushed = monthly_cost(fanout, preset("aws_sqs", billed_links=()), HOUR)
    assert math.isnan(pushed["cost_usd_per_month"])


def test_an_unknown_price_makes_the_cost_nan_only_where_it_is_needed():
    broker = row(
        kind="broker", events_published=10, deliveries=10, bytes_publisher_broker=1e4
    )
    polling = row(kind="short_poll", polls=10, requests_total=10)

    assert math.isnan(
        monthly_cost(broker, preset("azure_event_grid"), HOUR)["cost_usd_per_month"]
    )
    # Event Grid does not carry polling: no price for it
    assert math.isnan(
        monthly_cost(polling, preset("azure_event_grid"), HOUR)["cost_usd_per_month"]
    )
    given = preset(
        "azure_event_grid",
        usd_per_million_publishes=1.0,
        usd_per_million_deliveries=1.0,
    )
    assert monthly_cost(broker, given, HOUR)["cost_usd_per_month"] == pytest.approx(
        20 * 720 / 1e6
    )


@pytest.mark.parametrize("name", sorted(PRICE_PRESETS))
def test_every_preset_cites_a_source_and_the_date_it_was_read(name):
    prices = preset(name)

    assert prices.source.startswith("https://")
    assert prices.as_of == "2026-12-04"
    assert prices.preset == name


def test_fields_given_with_a_preset_win():
    prices = Prices.model_validate(
        {"preset": "aws_sns", "usd_per_million_publishes": 0.3}
    )

    assert prices.usd_per_million_publishes == 0.3
    assert prices.usd_per_million_deliveries == 0.60


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"usd_per_million_publishes": -1.0}, "greater than or equal to 0"),
        ({"as_of": "4 Dec 2026"}, "should match pattern"),
        ({"cpu_utilisation": 0.0}, "greater than 0"),
        ({"request_chunk_bytes": 0}, "greater than 0"),
        ({"billed_links": ["publisher_queue"]}, "publisher_subscribers"),
        ({"usd_per_gb": 0.09}, "Extra inputs are not permitted"),
        ({"usd_per_vcpu_hour": "0.04"}, "Input should be a valid number"),
    ],
)
def test_bad_price_tables_are_rejected(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Prices.model_validate(
            {"name": "x", "source": "y", "as_of": "2026-12-04", **fields}
        )


def test_an_unknown_preset_names_the_presets():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "no price preset 'sns'; presets: aws_sns, aws_sqs, azure_event_grid, "
            "gcp_pubsub, compute_vcpu"
        ),
    ):
        preset("sns")


@pytest.mark.parametrize(
    "window_s, changes, message",
    [
        (0.0, {}, "window_s must be a finite number > 0, got 0.0"),
        (math.inf, {}, "window_s must be a finite number > 0, got inf"),
        (HOUR, {"polls": -1}, "metric 'polls' must be >= 0, got -1"),
        (
            HOUR,
            {"deliveries": "many"},
            "metric 'deliveries' must be a number, got 'many'",
        ),
    ],
)
def test_bad_inputs_to_monthly_cost_are_rejected(window_s, changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        monthly_cost(row(**changes), preset("aws_sns"), window_s)


def test_a_row_without_a_needed_metric_names_it():
    incomplete = row()
    del incomplete["polls"], incomplete["retries"]

    with pytest.raises(
        ValueError,
        match=re.escape("metrics row has no 'polls', 'retries'; monthly_cost needs "),
    ):
        monthly_cost(incomplete, preset("aws_sns"), HOUR)
