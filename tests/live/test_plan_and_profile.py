"""What a live run refuses and cuts, cost profiles, and the comparison's
targets: no processes started here."""

import math
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.live import LiveError, plan_live
from sim.live.calibrate import profile_toml
from sim.live.compare import TARGETS, Target, comparison_table
from sim.scenario import load_scenario

PROFILE = {
    "machine": {"measured_at": "2026-12-04T18:00:00+00:00"},
    "costs": {
        "cpu_s_per_request_sent": 3e-4,
        "cpu_s_per_request_handled": 2.5e-4,
        "cpu_s_per_kib_serialised": 1.5e-5,
        "cpu_s_per_kib_deserialised": 1.25e-5,
    },
    "network": {"timer_resolution_s": 7e-5},
}


def test_a_live_run_is_cut_to_the_live_duration_and_says_so(write_scenario):
    plan = plan_live(write_scenario())
    assert plan.scenario.simulation.duration_s == 1.5
    assert plan.scaled == ("simulation.duration_s 60 s -> 1.5 s",)
    assert plan.transports == {
        "short_poll": "http",
        "long_poll": "http",
        "fanout": "http",
        "rabbitmq_push": "rabbitmq",
        "rabbitmq_poll": "rabbitmq",
        "redis_push": "redis",
        "redis_long_poll": "redis",
    }


def test_too_many_events_cut_the_duration_further(write_scenario):
    plan = plan_live(write_scenario("max_events = 5\nmax_subscribers = 1\n"))
    assert plan.scenario.simulation.duration_s == 0.5
    assert plan.scenario.workload.subscribers == 1
    assert any("live.max_events" in line for line in plan.scaled)
    assert any("workload.subscribers 2 -> 1" in line for line in plan.scaled)


def test_the_command_line_duration_wins_over_the_live_table(write_scenario):
    plan = plan_live(write_scenario(), duration_s=0.75)
    assert plan.scenario.simulation.duration_s == 0.75


def test_a_broker_off_this_machine_is_refused(write_scenario, tmp_path):
    path = write_scenario().replace("tiny.toml", "tiny.toml")
    text = Path(path).read_text().replace("127.0.0.1:5672", "10.1.2.3:5672")
    Path(path).write_text(text)
    with pytest.raises(
        ScenarioError,
        match=r"live\.broker_url: .*expected an amqp:// URL on 127\.0\.0\.1",
    ):
        plan_live(path)


def test_faults_and_unsupported_strategies_are_refused_by_field(write_scenario):
    path = write_scenario(
        """
        [subscriber.faults]
        error_5xx_probability = 0.1

        [[strategies]]
        name = "rr"
        kind = "request_reply"
        transport = "http"
        concurrency = 1
        timeout_s = 1
        """
    )
    with pytest.raises(LiveError) as caught:
        plan_live(path)
    message = str(caught.value)
    assert "subscriber.faults: live runs inject no faults" in message
    assert "strategies.rr.kind: got 'request_reply'" in message


def test_a_broker_polled_strategy_must_fetch_one_message_per_poll(write_scenario):
    path = write_scenario()
    text = Path(path).read_text().replace("max_batch = 1\n", "max_batch = 5\n")
    Path(path).write_text(text)
    with pytest.raises(LiveError, match=r"strategies\.rabbitmq_poll\.max_batch: got 5"):
        plan_live(path)


def test_an_unknown_broker_polled_strategy_is_named(write_scenario):
    path = write_scenario()
    text = Path(path).read_text().replace('["rabbitmq_poll"]', '["rabbit_pol"]')
    Path(path).write_text(text)
    with pytest.raises(
        LiveError, match=r"live\.broker_polled: no strategy named 'rabbit_pol'"
    ):
        plan_live(path)


def test_the_simulator_ignores_the_live_table(write_scenario):
    assert load_scenario(write_scenario()).name == "tiny-live"


# -- cost profiles -----------------------------------------------------------


def with_profile(write_scenario, tmp_path, costs: str) -> str:
    path = write_scenario()
    text = Path(path).read_text()
    start = text.index("[costs]")
    end = text.index("[subscriber]")
    Path(path).write_text(text[:start] + "[costs]\n" + costs + "\n" + text[end:])
    return path


def test_a_scenario_loads_its_costs_from_a_profile(write_scenario, tmp_path):
    (tmp_path / "profile.toml").write_text(profile_toml(PROFILE))
    path = with_profile(write_scenario, tmp_path, 'profile = "profile.toml"')
    costs = load_scenario(path).costs
    assert costs.cpu_s_per_request_sent == 3e-4
    assert costs.cpu_s_per_kib_deserialised == 1.25e-5
    assert costs.profile == "profile.toml"


def test_a_figure_given_in_the_scenario_wins_over_the_profile(write_scenario, tmp_path):
    (tmp_path / "profile.toml").write_text(profile_toml(PROFILE))
    path = with_profile(
        write_scenario,
        tmp_path,
        'profile = "profile.toml"\ncpu_s_per_request_sent = 1e-3',
    )
    costs = load_scenario(path).costs
    assert costs.cpu_s_per_request_sent == 1e-3
    assert costs.cpu_s_per_request_handled == 2.5e-4


def test_a_missing_profile_is_named_with_what_to_do(write_scenario, tmp_path):
    path = with_profile(write_scenario, tmp_path, 'profile = "nowhere.toml"')
    with pytest.raises(
        ScenarioError,
        match=r"costs: profile '.*nowhere\.toml': no such file; expected a cost "
        r"profile written by 'python -m sim calibrate --out FILE'",
    ):
        load_scenario(path)


def test_a_bad_figure_in_a_profile_is_named(write_scenario, tmp_path):
    bad = {**PROFILE, "costs": {**PROFILE["costs"], "cpu_s_per_kib_serialised": -1.0}}
    (tmp_path / "profile.toml").write_text(profile_toml(bad))
    path = with_profile(write_scenario, tmp_path, 'profile = "profile.toml"')
    with pytest.raises(
        ScenarioError,
        match=r"costs\.cpu_s_per_kib_serialised: got -1\.0; expected a number of CPU "
        r"seconds >= 0",
    ):
        load_scenario(path)


def test_a_profile_without_costs_is_refused(write_scenario, tmp_path):
    (tmp_path / "profile.toml").write_text("[network]\ntimer_resolution_s = 1e-4\n")
    path = with_profile(write_scenario, tmp_path, 'profile = "profile.toml"')
    with pytest.raises(ScenarioError, match=r"no \[costs\] table"):
        load_scenario(path)


# -- targets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "predicted", "measured", "slack", "met"),
    [
        (Target("equal"), 10, 10, 0, True),
        (Target("equal"), 10, 11, 0, False),
        (Target("relative", 0.10), 100, 109.9, 0, True),
        (Target("relative", 0.10), 100, 111, 0, False),
        (Target("relative", 0.25), 0.001, 0.00130, 0.0001, True),
        (Target("relative", 0.25), 0.001, 0.00140, 0.0001, False),
        (Target("factor", 2), 1.0, 1.99, 0, True),
        (Target("factor", 2), 1.0, 0.49, 0, False),
        (Target("factor", 2), 0.0, 0.1, 0, False),
        (Target("equal"), math.nan, 1, 0, False),
    ],
)
def test_targets(target, predicted, measured, slack, met):
    assert target.met(predicted, measured, slack) is met


def test_the_table_leaves_out_what_both_put_at_zero():
    predicted = dict.fromkeys(TARGETS, 1.0) | {"cpu_s_broker": 0.0, "polls": 0.0}
    measured = dict.fromkeys(TARGETS, 1.0) | {"cpu_s_broker": 0.0, "polls": 2.0}
    table = comparison_table([("s", "http", predicted, measured)], 1e-4)
    assert "cpu_s_broker" not in set(table["metric"])
    polls = table[table["metric"] == "polls"].iloc[0]
    assert math.isnan(polls["ratio"]) and not polls["met"]
    latency = table[table["metric"] == "latency_p50_s"].iloc[0]
    assert latency["target"] == "within 25% + 0.1 ms"


def test_rabbitmq_cannot_be_long_polled_but_redis_can(write_scenario):
    path = write_scenario()
    text = (
        Path(path)
        .read_text()
        .replace('redis_long_poll = "redis"', 'redis_long_poll = "rabbitmq"')
    )
    Path(path).write_text(text)
    with pytest.raises(
        LiveError,
        match=r"strategies\.redis_long_poll\.kind: RabbitMQ has no blocking get",
    ):
        plan_live(path)


def test_fanout_goes_through_no_broker(write_scenario):
    path = write_scenario()
    text = (
        Path(path)
        .read_text()
        .replace('redis_push = "redis",', 'redis_push = "redis", fanout = "redis",')
    )
    Path(path).write_text(text)
    with pytest.raises(LiveError, match=r"strategies\.fanout\.kind: a fanout strategy"):
        plan_live(path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'broker_polled = ["fanout"]',
            r"live\.broker_polled: 'fanout' is a fanout strategy.*remove it from live",
        ),
        (
            'broker_polled = ["rabbitmq_push"]',
            r"live\.broker_polled: 'rabbitmq_push' is a broker strategy",
        ),
        (
            'broker_polled = ["rabbitmq_poll", "redis_long_poll"]',
            r"live\.broker_polled and live\.brokers both name 'redis_long_poll'",
        ),
    ],
)
def test_conflicting_broker_listings_are_refused(write_scenario, extra, message):
    path = write_scenario().replace("tiny.toml", "conflict.toml")
    text = Path(write_scenario()).read_text()
    Path(path).write_text(text.replace('broker_polled = ["rabbitmq_poll"]', extra))
    with pytest.raises(LiveError, match=message):
        plan_live(path)


def test_a_sweep_is_run_live_as_its_base_scenario_and_says_so(write_scenario):
    path = write_scenario(
        '\n[sweep]\nname = "s"\naxes = { "workload.subscribers" = [1, 2] }\n'
    )
    plan = plan_live(path)
    assert (
        "sweep.axes (workload.subscribers) not run live: only the base scenario is"
        in plan.scaled
    )


def test_fixed_payloads_too_small_to_carry_an_event_are_padded_on_both_sides(
    write_scenario,
):
    from sim.live.wire import MIN_PAYLOAD_BYTES

    path = write_scenario()
    text = Path(path).read_text()
    Path(path).write_text(text.replace('"fixed", value = 700', '"fixed", value = 10'))
    plan = plan_live(path)
    assert plan.scenario.workload.payload_bytes.value == MIN_PAYLOAD_BYTES
    assert (
        f"workload.payload_bytes 10 B -> {MIN_PAYLOAD_BYTES} B (the event number "
        "and publish instant must fit)"
    ) in plan.scaled


def test_the_requests_panel_is_not_called_http():
    from sim.live.compare import comparison_figure

    values = dict.fromkeys(TARGETS, 1.0)
    fig = comparison_figure(comparison_table([("s", "redis", values, values)]))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "requests (requests)" in titles
    assert not any("HTTP" in t for t in titles)
