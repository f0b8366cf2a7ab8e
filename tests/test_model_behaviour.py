"""How the strategies behave under load, and that runs are reproducible."""

import json
import subprocess

import numpy as np
import pytest

from sim.model import simulate
from sim.run import run

STRATEGIES = ["poll", "long", "fanout", "broker"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_gives_identical_metrics(scenario, strategy):
    s = scenario(
        network__latency_s={"kind": "lognormal", "median": 0.01, "sigma": 0.5},
        subscriber__service_time_s={"kind": "exponential", "mean": 0.05},
    )
    first, second = simulate(s, strategy, 1), simulate(s, strategy, 1)
    np.testing.assert_array_equal(first.latency_s, second.latency_s)
    np.testing.assert_equal(run(s, strategy, 1).metrics, run(s, strategy, 1).metrics)


def test_other_seeds_and_replications_give_other_samples(scenario):
    s = scenario()
    reference = run(s, "poll", 0).metrics
    for other in (run(s, "poll", 1), run(scenario(simulation__seed=8), "poll", 0)):
        assert other.metrics["latency_mean_s"] != reference["latency_mean_s"]


def test_strategies_of_a_replication_see_the_same_events(scenario):
    s = scenario(
        workload__payload_bytes={"kind": "lognormal", "median": 800, "sigma": 1}
    )
    rows = [run(s, name, 0).metrics for name in STRATEGIES]
    assert len({r["events_published"] for r in rows}) == 1
    # same payloads: the bodies pushed directly and through the broker match
    fan, brk = rows[2], rows[3]
    assert fan["bytes_publisher_subscribers"] == brk["bytes_broker_subscribers"]


def test_results_do_not_depend_on_the_process(python, tmp_path):
    from tests.conftest import build

    path = tmp_path / "s.toml"
    path.write_text(_toml(build()))
    outputs = [
        subprocess.run(
            [python, "-m", "sim", "run", str(path), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1]
    rows = [json.loads(line) for line in outputs[0].splitlines()]
    assert [r["strategy"] for r in rows] == STRATEGIES


def test_push_faster_than_subscribers_serve_queues_and_delays(scenario):
    # one worker at 0.1 s per event serves 10 events/s
    def at(rate):
        s = scenario(
            simulation={"duration_s": 200.0, "seed": 3},
            workload__subscribers=1,
            workload__arrivals={"kind": "constant", "rate_per_s": rate},
            subscriber={
                "service_time_s": {"kind": "fixed", "value": 0.1},
                "concurrency": 1,
            },
        )
        return {k: run(s, k).metrics for k in ("fanout", "broker")}

    calm, flooded = at(5.0), at(12.5)
    for name, hops in (("fanout", 1), ("broker", 2)):
        assert calm[name]["latency_max_s"] == pytest.approx(0.01 * hops)
        # Events come every 0.08 s and take 0.1 s each: once the queue has
        # formed, event k starts 0.1 k after the first and waits 0.02 k.
        n = flooded[name]["events_published"]
        assert flooded[name]["undelivered"] == 0
        assert flooded[name]["latency_max_s"] == pytest.approx(
            0.01 * hops + 0.02 * (n - 1)
        )
        assert flooded[name]["latency_mean_s"] == pytest.approx(
            0.01 * hops + 0.02 * (n - 1) / 2
        )


def test_pollers_leave_the_backlog_at_the_source(scenario):
    s = scenario(
        simulation={"duration_s": 200.0, "seed": 3},
        workload__subscribers=1,
        workload__arrivals={"kind": "constant", "rate_per_s": 12.5},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.1},
            "concurrency": 1,
        },
        strategies=[
            {"name": "poll", "kind": "short_poll", "interval_s": 1.0, "max_batch": 5}
        ],
    )
    m = run(s, "poll").metrics
    # the consumer never takes more than its workers clear: each poll takes
    # at most a batch, and the next waits for the batch to be started, so the
    # 2,500 events need about 500 full polls, made as the worker frees up,
    # those after the window included (they fetch the window's events)
    assert m["events_published"] == pytest.approx(2500, abs=1)
    assert 500 <= m["polls"] <= 510
    assert m["undelivered"] == 0
    assert m["latency_mean_s"] > 10


def test_push_calls_past_their_timeout_are_counted(scenario):
    s = scenario(
        simulation={"duration_s": 100.0, "seed": 3},
        workload__subscribers=2,
        workload__arrivals={"kind": "constant", "rate_per_s": 0.5},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 2.0},
            "concurrency": 1,
        },
        strategies=[
            {"name": "fanout", "kind": "fanout", "concurrency": 4, "timeout_s": 1.0}
        ],
    )
    m = run(s, "fanout").metrics
    # every call outlives its 1 s timeout, yet the subscriber still handles it
    assert m["timeouts"] == m["requests_total"] == m["deliveries"]


def test_aligned_pollers_poll_at_the_same_instants(scenario):
    s = scenario(
        workload__arrivals={"kind": "constant", "rate_per_s": 0.1},
        strategies=[
            {
                "name": "poll",
                "kind": "short_poll",
                "interval_s": 5.0,
                "phase": "aligned",
            }
        ],
    )
    lat = simulate(s, "poll", 0).latency_s.reshape(-1, 3)
    # every subscriber sees each event at the same moment
    assert np.all(lat.max(axis=1) - lat.min(axis=1) < 1e-9)


def test_warmup_excludes_early_events(scenario):
    s = scenario(simulation={"duration_s": 600.0, "warmup_s": 300.0, "seed": 7})
    full = scenario()
    assert (
        run(s, "fanout").metrics["events_published"]
        < run(full, "fanout").metrics["events_published"]
    )


def _toml(raw: dict) -> str:
    lines = [f'name = "{raw["name"]}"']
    for table in ("simulation", "workload", "network", "costs", "subscriber"):
        lines.append(f"[{table}]")
        for key, value in raw[table].items():
            lines.append(f"{key} = {_value(value)}")
    for strategy in raw["strategies"]:
        lines.append("[[strategies]]")
        lines += [f"{k} = {_value(v)}" for k, v in strategy.items()]
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def overloaded(scenario, drain_s=None):
    return scenario(
        simulation={"duration_s": 200.0, "seed": 3, "drain_s": drain_s},
        workload__subscribers=2,
        workload__arrivals={"kind": "constant", "rate_per_s": 15.0},
        subscriber={
            "service_time_s": {"kind": "fixed", "value": 0.1},
            "concurrency": 1,
        },
    )


@pytest.mark.parametrize("strategy", ["fanout", "broker"])
def test_overload_charges_each_event_its_whole_delivery(scenario, strategy):
    m = run(overloaded(scenario), strategy).metrics
    # the subscribers serve 10/s of 15/s: deliveries run on long after the
    # window, yet every window event is pushed, and paid for, once per
    # subscriber
    assert m["undelivered"] == 0
    hops = 2 if strategy == "fanout" else 3
    assert m["requests_per_event"] == hops
    assert m["latency_max_s"] > 90


def test_events_still_on_their_way_make_latency_a_lower_bound(scenario):
    full = run(overloaded(scenario), "fanout").metrics
    cut = run(overloaded(scenario, drain_s=5.0), "fanout").metrics
    assert full["latency_censored"] == 0
    assert cut["latency_censored"] == cut["undelivered"] > 0
    # censored waits enter as lower bounds: the mean can only be lower
    assert cut["latency_mean_s"] <= full["latency_mean_s"]
    outcome = simulate(overloaded(scenario, drain_s=5.0), "fanout", 0)
    assert cut["latency_max_s"] == pytest.approx(
        max(np.nanmax(outcome.latency_s), outcome.censored_s.max())
    )
