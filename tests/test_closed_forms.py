"""The model against results that hold exactly in closed form.

Tolerances are confidence intervals from the number of samples: Z = 4.4
standard errors, which a correct model exceeds with probability about 1e-5.
"""

import math

import numpy as np
import pytest

from sim.model import simulate
from sim.run import run

Z = 4.4


def one_consumer(scenario, rate, interval, delay, duration=20_000.0, seed=11):
    return scenario(
        simulation={
            "duration_s": duration,
            "warmup_s": 100.0,
            "seed": seed,
            "replications": 1,
        },
        workload__subscribers=1,
        workload__arrivals={"kind": "poisson", "rate_per_s": rate},
        network__latency_s={"kind": "fixed", "value": delay},
        strategies=[
            {
                "name": "poll",
                "kind": "short_poll",
                "interval_s": interval,
                "max_batch": 10_000,
            }
        ],
    )


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("rate,interval", [(0.5, 2.0), (3.0, 0.25), (0.05, 30.0)])
def test_short_poll_mean_latency_is_half_the_interval_plus_the_network_delay(
    scenario, rate, interval, seed
):
    delay = 0.004
    outcome = simulate(
        one_consumer(scenario, rate, interval, delay, seed=seed), "poll", 0
    )
    samples = outcome.latency_s
    assert not np.isnan(samples).any()

    # Given its poll, an event's wait is uniform on (0, T), independently of
    # the others, so the sample mean has standard error T / sqrt(12 n).
    expected = interval / 2 + delay
    tolerance = Z * interval / math.sqrt(12 * samples.size)
    assert abs(samples.mean() - expected) < tolerance, (seed, samples.size)


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("rate,interval", [(0.5, 2.0), (3.0, 0.25), (0.05, 30.0)])
def test_short_poll_empty_fraction_is_exp_minus_rate_times_interval(
    scenario, rate, interval, seed
):
    result = run(one_consumer(scenario, rate, interval, 0.004, seed=seed), "poll")
    m = result.metrics
    p = math.exp(-rate * interval)

    # Polls cover disjoint intervals of length T: independent Bernoulli(p).
    tolerance = Z * math.sqrt(p * (1 - p) / m["polls"])
    assert abs(m["empty_poll_fraction"] - p) < tolerance, (seed, m["polls"])


def test_short_poll_latency_percentiles_follow_the_uniform_wait(scenario):
    interval, delay = 2.0, 0.004
    outcome = simulate(one_consumer(scenario, 0.5, interval, delay), "poll", 0)
    samples = np.sort(outcome.latency_s)
    n = samples.size
    for q in (0.1, 0.5, 0.9):
        # the empirical q-quantile's rank has standard deviation sqrt(n q (1-q))
        slack = Z * math.sqrt(q * (1 - q) / n)
        low, high = np.quantile(samples, [max(0, q - slack), min(1, q + slack)])
        assert low <= q * interval + delay <= high


def test_idle_long_poller_makes_one_request_per_wait(scenario):
    s = scenario(
        simulation={
            "duration_s": 3600.0,
            "warmup_s": 0.0,
            "seed": 1,
            "replications": 1,
        },
        workload__subscribers=1,
        workload__arrivals={"kind": "poisson", "rate_per_s": 1e-12},
        network__latency_s={"kind": "fixed", "value": 0.0},
    )
    m = run(s, "long").metrics
    assert m["events_published"] == 0
    assert m["requests_total"] == 3600 / 20
    assert m["empty_polls"] == m["polls"] == 3600 / 20


def test_idle_long_pollers_with_network_delay_cycle_every_wait_plus_round_trip(
    scenario,
):
    s = scenario(
        simulation={
            "duration_s": 3600.0,
            "warmup_s": 0.0,
            "seed": 1,
            "replications": 1,
        },
        workload__arrivals={"kind": "poisson", "rate_per_s": 1e-12},
        network__latency_s={"kind": "fixed", "value": 0.5},
    )
    m = run(s, "long").metrics
    # the first poll reaches the publisher at 0.5 s, then one every 21 s; a
    # poll counts once answered, 20 s after it arrived, before the end
    per_consumer = math.floor((3600 - 20 - 0.5) / 21) + 1
    assert m["requests_total"] == m["polls"] == 3 * per_consumer


def test_long_poll_answers_one_network_delay_after_publish(scenario):
    s = scenario(
        workload__subscribers=1,
        workload__arrivals={"kind": "constant", "rate_per_s": 0.1},
        network__latency_s={"kind": "fixed", "value": 0.01},
    )
    outcome = simulate(s, "long", 0)
    np.testing.assert_allclose(outcome.latency_s, 0.01, rtol=0, atol=1e-9)


@pytest.mark.parametrize("strategy", ["fanout", "broker"])
def test_push_delivers_every_event_to_every_subscriber(scenario, strategy):
    m = run(scenario(), strategy).metrics
    assert m["events_published"] > 0
    assert m["deliveries"] == m["events_published"] * 3
    assert m["undelivered"] == 0


def test_fanout_makes_one_request_per_event_and_subscriber(scenario):
    m = run(scenario(), "fanout").metrics
    assert m["requests_total"] == m["events_published"] * 3
    assert m["bytes_publisher_subscribers"] == m["requests_total"] * (1000 + 300 + 200)
    assert m["bytes_publisher_broker"] == m["bytes_broker_subscribers"] == 0


def test_broker_takes_one_post_and_pushes_once_per_subscriber(scenario):
    m = run(scenario(), "broker").metrics
    events = m["events_published"]
    assert m["requests_total"] == events * (1 + 3)
    assert m["bytes_publisher_broker"] == events * 1500
    assert m["bytes_broker_subscribers"] == events * 3 * 1500


def test_push_latency_is_one_network_delay_per_hop_when_idle(scenario):
    s = scenario(workload__arrivals={"kind": "constant", "rate_per_s": 0.1})
    np.testing.assert_allclose(simulate(s, "fanout", 0).latency_s, 0.01, atol=1e-9)
    np.testing.assert_allclose(simulate(s, "broker", 0).latency_s, 0.02, atol=1e-9)


def test_cpu_follows_the_cost_model_for_fanout(scenario):
    m = run(scenario(), "fanout").metrics
    calls = m["requests_total"]
    kib = 1000 / 1024
    assert m["cpu_s_publisher"] == pytest.approx(calls * (5e-5 + 2e-6 * kib))
    assert m["cpu_s_subscribers"] == pytest.approx(calls * (1e-4 + 4e-6 * kib))
    assert m["cpu_s_broker"] == 0
    assert m["cpu_s_per_event"] == pytest.approx(
        m["cpu_s_total"] / m["events_published"]
    )


def test_empty_polls_cost_requests_and_framing_but_no_body(scenario):
    s = scenario(workload__arrivals={"kind": "poisson", "rate_per_s": 1e-12})
    m = run(s, "poll").metrics
    assert m["events_published"] == 0
    assert m["polls"] == m["empty_polls"] == 3 * 600 / 2
    assert m["bytes_total"] == m["polls"] * 500
    assert m["cpu_s_subscribers"] == pytest.approx(m["polls"] * 5e-5)
    assert m["cpu_s_publisher"] == pytest.approx(m["polls"] * 1e-4)
    assert math.isnan(m["cpu_s_per_event"]) and math.isnan(m["latency_mean_s"])
