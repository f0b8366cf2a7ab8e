"""Faults at subscribers, and how push senders retry, give up and duplicate."""

import numpy as np
import pytest

from sim.model import simulate
from sim.run import run
from sim.scenario import Broker

ONE_SUB = dict(
    simulation={"duration_s": 1000.0, "warmup_s": 0.0, "seed": 4, "replications": 1},
    workload__subscribers=1,
    workload__arrivals={"kind": "constant", "rate_per_s": 0.5},
)


def push(kind="fanout", **fields):
    base = {"name": "push", "kind": kind, "timeout_s": 5.0}
    base.update({"concurrency": 4} if kind == "fanout" else {"push_concurrency": 4})
    base.update(fields)
    return [base]


def with_faults(scenario, faults, strategies, **extra):
    return scenario(
        **ONE_SUB,
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.01},
            "concurrency": 2,
            "faults": faults,
            **extra,
        },
        strategies=strategies,
    )


def test_refused_connections_during_an_outage_are_retried_until_it_ends(scenario):
    s = with_faults(
        scenario,
        {"outages": [{"start_s": 200.0, "duration_s": 100.0}], "when_down": "refuse"},
        push(retry={"kind": "fixed", "delay_s": 7.0, "max_attempts": 100}),
    )
    outcome = simulate(s, "push", 0)
    m = run(s, "push").metrics
    assert m["undelivered"] == 0 and m["dead_lettered"] == 0
    assert m["transport_errors"] > 0 and m["retries"] == m["transport_errors"]
    # an event published during the outage waits for it to end, give or take
    # one retry period and the network
    assert outcome.latency_s.max() == pytest.approx(100, abs=7 + 0.1)
    assert m["subscriber_down_s"] == pytest.approx(100.0)


def test_without_retries_an_outage_loses_its_events_to_the_dead_letter_count(scenario):
    s = with_faults(
        scenario,
        {"outages": [{"start_s": 200.0, "duration_s": 100.0}]},
        push(),
    )
    m = run(s, "push").metrics
    assert m["dead_lettered"] == m["transport_errors"] == m["undelivered"]
    assert m["undelivered"] == pytest.approx(50, abs=1)


def test_a_blackholed_subscriber_costs_the_caller_its_timeout(scenario):
    s = with_faults(
        scenario,
        {
            "outages": [{"start_s": 200.0, "duration_s": 100.0}],
            "when_down": "blackhole",
        },
        push(retry={"kind": "fixed", "delay_s": 1.0, "max_attempts": 1000}),
    )
    outcome = simulate(s, "push", 0)
    m = run(s, "push").metrics
    assert m["transport_errors"] == 0 and m["timeouts"] > 0
    assert m["undelivered"] == 0
    # nothing answers: attempts go out every timeout + delay = 6 s
    assert outcome.latency_s.max() == pytest.approx(100, abs=6 + 0.1)


def test_a_400_is_not_retried(scenario):
    s = with_faults(
        scenario,
        {"error_4xx_probability": 0.2},
        push(retry={"kind": "fixed", "delay_s": 1.0, "max_attempts": 5}),
    )
    m = run(s, "push").metrics
    assert m["http_4xx"] > 0
    assert m["retries"] == 0
    assert m["dead_lettered"] == m["http_4xx"] == m["undelivered"]


def test_429_waits_for_retry_after_when_the_policy_honours_it(scenario):
    def metrics(honour):
        s = scenario(
            **{**ONE_SUB, "workload__arrivals": {"kind": "poisson", "rate_per_s": 1.0}},
            subscriber={
                "service_time_s": {"kind": "fixed", "value": 0.0},
                "concurrency": 8,
                "faults": {
                    "rate_limit_per_s": 2.0,
                    "rate_limit_burst": 1,
                    "retry_after_s": 30.0,
                },
            },
            strategies=push(
                retry={
                    "kind": "fixed",
                    "delay_s": 0.5,
                    "max_attempts": 50,
                    "honour_retry_after": honour,
                }
            ),
        )
        return run(s, "push").metrics

    honoured, ignored = metrics(True), metrics(False)
    assert honoured["http_429"] > 0 and ignored["http_429"] > 0
    assert honoured["undelivered"] == ignored["undelivered"] == 0
    # a throttled event waits the 30 s it was told to, or only the policy's 0.5 s
    assert honoured["latency_max_s"] >= 30.0
    assert ignored["latency_max_s"] < 30.0


def test_5xx_answers_are_retried_and_eventually_delivered(scenario):
    s = with_faults(
        scenario,
        {"error_5xx_probability": 0.3},
        push(
            retry={
                "kind": "exponential",
                "base_s": 0.5,
                "cap_s": 8.0,
                "max_attempts": 30,
            }
        ),
    )
    m = run(s, "push").metrics
    assert m["http_5xx"] > 0 and m["retries"] == m["http_5xx"]
    assert m["undelivered"] == 0 and m["dead_lettered"] == 0
    # each attempt fails with p = 0.3 independently: retries per event ~ p / (1 - p)
    events = m["events_published"]
    expected, sd = events * 0.3 / 0.7, np.sqrt(events * 0.3) / 0.7
    assert abs(m["retries"] - expected) < 4.4 * sd


@pytest.mark.parametrize("idempotent", [True, False])
def test_lost_acknowledgements_cause_duplicates(scenario, idempotent):
    s = with_faults(
        scenario,
        {"ack_loss_probability": 0.1},
        push(retry={"kind": "fixed", "delay_s": 1.0, "max_attempts": 10}),
        idempotent=idempotent,
        cpu_s_per_idempotency_check=1e-3,
    )
    m = run(s, "push").metrics
    assert m["timeouts"] > 0
    assert m["duplicates"] == m["timeouts"]
    assert m["deliveries"] == m["events_published"]
    checks = m["events_published"] + m["duplicates"] if idempotent else 0
    base = with_faults(scenario, {}, push(), idempotent=False)
    extra_cpu = m["cpu_s_subscribers"] - run(base, "push").metrics["cpu_s_subscribers"]
    # the retries' requests cost their handling, and checks cost 1 ms each
    per_request = 1e-4 + 4e-6 * 1000 / 1024
    assert extra_cpu == pytest.approx(checks * 1e-3 + m["retries"] * per_request)


def test_retries_stop_at_the_time_to_live(scenario):
    s = with_faults(
        scenario,
        {"outages": [{"start_s": 100.0, "duration_s": 500.0}]},
        push(
            retry={
                "kind": "fixed",
                "delay_s": 10.0,
                "max_attempts": 1000,
                "ttl_s": 60.0,
            }
        ),
    )
    m = run(s, "push").metrics
    # events published more than 60 s before the outage ends are dropped
    assert m["dead_lettered"] == pytest.approx((500 - 60) * 0.5, abs=6)


def test_an_adaptive_push_window_shrinks_under_failures(scenario):
    def timeouts(window):
        s = scenario(
            **{
                **ONE_SUB,
                "workload__arrivals": {"kind": "poisson", "rate_per_s": 20.0},
            },
            subscriber={
                "service_time_s": {"kind": "exponential", "mean": 0.2},
                "concurrency": 2,
            },
            strategies=push(
                "broker",
                push_concurrency=64,
                timeout_s=1.0,
                push_window=window,
                retry={"kind": "fixed", "delay_s": 1.0, "max_attempts": 3},
            ),
        )
        return run(s, "push").metrics["timeouts"]

    assert timeouts("adaptive") < timeouts("fixed") / 2


def test_event_grid_preset_follows_its_documented_policy():
    b = Broker.model_validate(
        {"name": "eg", "kind": "broker", "push_concurrency": 1, "preset": "event_grid"}
    )
    assert b.timeout_s == 30.0
    assert b.retry.delays_s[:9] == (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600)
    assert b.retry.delays_s[-1] == 12 * 3600
    assert b.retry.max_attempts == 30 and b.retry.ttl_s == 24 * 3600
    assert 0 < b.retry.randomisation < 1


def test_preset_fields_give_way_to_the_scenario():
    b = Broker.model_validate(
        {
            "name": "ps",
            "kind": "broker",
            "push_concurrency": 8,
            "preset": "pubsub_push",
            "timeout_s": 60.0,
        }
    )
    assert b.timeout_s == 60.0
    assert b.push_window == "adaptive"
    assert (b.retry.base_s, b.retry.cap_s) == (10.0, 600.0)


def test_sns_preset_retries_three_times_twenty_seconds_apart(scenario):
    s = with_faults(
        scenario,
        {"outages": [{"start_s": 100.0, "duration_s": 400.0}], "when_down": "503"},
        push("broker", preset="sns_http", timeout_s=15.0),
    )
    m = run(s, "push").metrics
    dead = m["dead_lettered"]
    # four attempts 20 s apart all fall in the outage for events of [100, 440)
    assert dead == pytest.approx((440 - 100) * 0.5, abs=1)
    assert m["retries"] - 3 * dead == m["http_5xx"] - 4 * dead > 0
    assert m["latency_max_s"] == pytest.approx(60, abs=0.1)


def test_random_outages_take_about_mttr_over_mtbf_plus_mttr_of_the_time(scenario):
    s = scenario(
        simulation={"duration_s": 200_000.0, "seed": 9, "replications": 1},
        workload__subscribers=1,
        workload__arrivals={"kind": "poisson", "rate_per_s": 1e-6},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.0},
            "concurrency": 1,
            "faults": {"mtbf_s": 900.0, "mttr_s": 100.0},
        },
        strategies=push(),
    )
    down = run(s, "push").metrics["subscriber_down_s"] / 200_000
    # ~200 independent cycles; the fraction of a renewal process's time
    # spent down has sd about (0.1 * sqrt(2 / 200)) here
    assert down == pytest.approx(0.1, abs=4.4 * 0.1 * np.sqrt(2 / 200))
