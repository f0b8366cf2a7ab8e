"""The bundled real-world scenarios reproduce the figures they cite."""

import math

import pandas as pd
import pytest

from sim.run import run
from sim.scenario import bundled_names, load_scenario, load_sweep
from sim.summary import ratio_interval, summarise
from sim.theory import long_poll_empty_answers_per_event, long_poll_requests_per_event


def runs_of(scenario, strategy):
    rows = [
        {
            "point": 0,
            "strategy": strategy,
            "kind": "k",
            "replication": r,
            **run(scenario, strategy, r).metrics,
        }
        for r in range(scenario.simulation.replications)
    ]
    return pd.DataFrame(rows)


def estimate(runs, metric):
    row = summarise(runs, []).set_index("metric").loc[metric]
    return row["mean"], row["ci95_low"], row["ci95_high"]


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_scenario_runs_every_strategy(name):
    sweep = load_sweep(name, overrides={"simulation.replications": 1})
    scenario = sweep.scenarios[0]
    # long enough for some 50 events, no longer than the scenario's own run
    rate = scenario.workload.arrivals.mean_rate_per_s
    duration = min(scenario.simulation.duration_s, max(900.0, 50 / rate))
    short = scenario.model_copy(
        update={
            "simulation": scenario.simulation.model_copy(
                update={"duration_s": duration, "warmup_s": 0.0}
            )
        }
    )
    for strategy in short.strategies:
        m = run(short, strategy.name).metrics
        assert m["events_published"] > 0, (name, strategy.name)


def test_the_busy_topic_exercises_claim_checks_filters_and_lost_acks():
    s = load_scenario("busy-topic", overrides={"simulation.replications": 1})
    push = run(s, "pubsub_push").metrics
    assert push["bytes_storage"] > 0 and push["requests_storage"] > 0
    assert push["deliveries"] < push["events_published"] * 8 / 2  # 3 of 12 types
    assert push["duplicates"] > 0 and push["undelivered"] == 0
    polls = run(s, "adaptive_poll").metrics
    assert polls["duplicates"] == 0 and polls["timeouts"] == 0


def test_zapier_polling_wastes_about_98_5_percent_of_polls_and_66_per_record():
    s = load_scenario("zapier-polling", overrides={"workload.subscribers": 5})
    polls = runs_of(s, "poll_every_minute")
    rate, interval = 0.00025, 60.0

    empty, low, high = estimate(polls, "empty_poll_fraction")
    assert low <= math.exp(-rate * interval) <= high
    assert empty == pytest.approx(0.985, abs=0.005)

    # requests per event per Zap: one poll a minute over one record per
    # 1 / rate seconds, against one webhook call per record
    per_event, low, high = estimate(polls, "requests_per_event")
    per_zap = 1 / (rate * interval)
    assert low / 5 <= per_zap <= high / 5
    assert per_zap == pytest.approx(66, rel=0.02)
    hooks = runs_of(s, "rest_hook")
    assert (hooks["requests_per_event"] == 5).all()


def test_sqs_long_polling_costs_what_theory_says_against_sns_push():
    sweep = load_sweep("sqs-vs-sns")
    s = next(p for p in sweep.scenarios if p.workload.arrivals.rate_per_s == 0.1)
    polls = runs_of(s, "sqs_long_poll")
    # ten queues; the next poll arrives about one network round trip after
    # an answer leaves
    per_queue = long_poll_requests_per_event(0.1, 20.0, round_trip_s=0.004)
    empty = long_poll_empty_answers_per_event(0.1, 20.0, round_trip_s=0.004)
    pooled = ratio_interval(
        polls["polls"].to_numpy(float), polls["events_published"].to_numpy(float)
    )
    assert pooled["ci95_low"] <= 10 * per_queue <= pooled["ci95_high"]
    # each answer with messages is followed by one DeleteMessageBatch, booked
    # when it arrives: at each edge of the window a queue may have an answer
    # and its delete on either side, and a long poll held when the run stops
    # is a request, not yet a poll (one per queue each time)
    deletes = polls["requests_total"] - polls["polls"]
    answered = polls["polls"] - polls["empty_polls"]
    assert ((deletes - answered).between(-10, 20)).all()
    assert per_queue - empty == pytest.approx(1.0, abs=0.01)
    push = runs_of(s, "sns_push")
    assert (push["requests_per_event"] == 11).all()


def test_event_grid_webhook_down_for_an_hour_recovers_on_its_retry_schedule():
    s = load_scenario("eventgrid-outage", overrides={"simulation.replications": 1})
    grid = run(s, "event_grid").metrics
    minute = run(s, "retry_every_minute").metrics
    assert grid["undelivered"] == minute["undelivered"] == 0
    assert grid["dead_lettered"] == 0
    # retrying every minute is back within a minute of the outage's end;
    # Event Grid's 1 h step after 30 min leaves events waiting well past it
    assert minute["latency_max_s"] <= 3600 + 60 + 1
    assert grid["latency_max_s"] > 3600 + 1200
    # ... at 6400 s after publish for the first events of the outage, give
    # or take the 10% randomisation of each step
    assert grid["latency_max_s"] == pytest.approx(6400, rel=0.1)
    assert grid["retries"] < minute["retries"]


def test_flaky_webhooks_exercise_outages_rate_limits_and_retry_policies():
    s = load_scenario(
        "flaky-webhooks",
        overrides={"simulation.replications": 1, "simulation.duration_s": 7200.0},
    )
    none = run(s, "no_retry").metrics
    jitter = run(s, "decorrelated").metrics
    assert none["subscriber_down_s"] > 0
    assert none["retries"] == 0 and none["dead_lettered"] == none["undelivered"]
    for m in (none, jitter):
        assert m["transport_errors"] > 0 and m["http_429"] > 0 and m["http_5xx"] > 0
    # retrying delivers most of what a single attempt loses
    assert jitter["undelivered"] < none["undelivered"] / 2
