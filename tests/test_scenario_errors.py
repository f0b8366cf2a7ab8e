"""Bad scenario and sweep files: one clear message naming file and field."""

import re
import subprocess
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import bundled_names, load_scenario, load_sweep

DEFAULT = (
    Path(__file__).parent.parent / "sim" / "scenarios" / "default.toml"
).read_text()


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def edited(old: str, new: str, count: int = 1) -> str:
    assert old in DEFAULT, old
    return DEFAULT.replace(old, new, count)


def test_bundled_default_sweep_loads_with_five_points_over_four_decades():
    sweep = load_sweep()
    rates = sweep.axes["workload.arrivals.rate_per_s"]
    assert max(rates) / min(rates) >= 1e4
    assert len(sweep.scenarios) == len(rates)
    assert [s.workload.arrivals.rate_per_s for s in sweep.scenarios] == rates
    assert {s.kind for s in sweep.base.strategies} == {
        "short_poll",
        "long_poll",
        "fanout",
        "broker",
    }
    assert "default" in bundled_names()


CASES = [
    ("missing file", None, r"no such file; give a path to a TOML scenario"),
    ("invalid TOML", "name = \n", r"invalid TOML: .*line 1"),
    (
        "unknown key with suggestion",
        edited("interval_s = 30", "intervl_s = 30"),
        r"strategies\.short_poll_30s\.intervl_s: unknown key 'intervl_s' "
        r"\(did you mean 'interval_s'\?\)",
    ),
    (
        "unknown top-level table",
        DEFAULT.replace("[simulation]", "[simulaton]"),
        r"simulaton: unknown key 'simulaton' \(did you mean 'simulation'\?\)",
    ),
    (
        "wrong type",
        edited("duration_s = 3600", 'duration_s = "1h"'),
        r"simulation\.duration_s: got '1h'; expected a valid number",
    ),
    (
        "zero duration",
        edited("duration_s = 3600", "duration_s = 0"),
        r"simulation\.duration_s: got 0; expected greater than 0",
    ),
    (
        "negative rate",
        edited("rate_per_s = 1.0", "rate_per_s = -2"),
        r"workload\.arrivals\.rate_per_s: got -2; expected greater than 0",
    ),
    (
        "zero interval",
        edited("interval_s = 1\n", "interval_s = 0\n"),
        r"strategies\.short_poll_1s\.interval_s: got 0; expected greater than 0",
    ),
    (
        "negative wait",
        edited("wait_s = 20", "wait_s = -20"),
        r"strategies\.long_poll_20s\.wait_s: got -20; expected greater than 0",
    ),
    (
        "warm-up not shorter than duration",
        edited("warmup_s = 60", "warmup_s = 3600"),
        r"simulation: warmup_s \(3600\.0\) must be shorter than duration_s \(3600\.0\)",
    ),
    (
        "empty strategy list",
        "strategies = []\n" + DEFAULT[: DEFAULT.index("[[strategies]]")],
        r"strategies: is empty; expected at least one entry",
    ),
    (
        "no strategies at all",
        DEFAULT[: DEFAULT.index("[[strategies]]")],
        r"strategies: missing; this field is required",
    ),
    (
        "unknown strategy kind",
        edited('kind = "broker"', 'kind = "brokr"'),
        r"strategies\.broker\.kind: got 'brokr' \(did you mean 'broker'\?\); "
        r"expected one of 'short_poll', 'long_poll', 'fanout', 'broker'",
    ),
    (
        "duplicate strategy names",
        edited('name = "fanout"', 'name = "broker"'),
        r"strategies: strategy names must be unique; repeated: \['broker'\]",
    ),
    (
        "sweep axis naming no field",
        edited('"workload.arrivals.rate_per_s" = [', '"workload.arrivals.rate" = ['),
        r"sweep\.axes\.'workload\.arrivals\.rate': names no field: workload\.arrivals "
        r"has no 'rate' \(did you mean 'rate_per_s'\?\)",
    ),
    (
        "sweep axis naming no strategy",
        edited(
            '"workload.arrivals.rate_per_s" = [', '"strategies.poll.interval_s" = ['
        ),
        r"sweep\.axes\.'strategies\.poll\.interval_s': no strategy named 'poll'",
    ),
    (
        "sweep axis value out of range",
        edited("[0.001, 0.01, 0.1, 1, 10]", "[1, 0]"),
        r"sweep point workload\.arrivals\.rate_per_s = 0\): "
        r"workload\.arrivals\.rate_per_s: got 0; expected greater than 0",
    ),
    (
        "empty sweep axis",
        edited("[0.001, 0.01, 0.1, 1, 10]", "[]"),
        r"sweep\.axes\.'workload\.arrivals\.rate_per_s': expected a non-empty list",
    ),
]


@pytest.mark.parametrize(
    "text,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_sweep_file_names_file_field_value_and_expectation(tmp_path, text, message):
    path = tmp_path / "nope.toml" if text is None else write(tmp_path, text)
    with pytest.raises(
        ScenarioError, match="(?s)" + re.escape(str(path)) + ".*" + message
    ):
        load_sweep(path)


@pytest.mark.parametrize(
    "text,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cli_reports_bad_input_with_status_2_and_writes_nothing(
    tmp_path, python, text, message
):
    path = tmp_path / "nope.toml" if text is None else write(tmp_path, text)
    out = tmp_path / "out"
    done = subprocess.run(
        [python, "-m", "sim", "sweep", str(path), "--out", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert not out.exists()


def test_several_problems_are_reported_together(tmp_path):
    text = edited("duration_s = 3600", "duration_s = -1").replace(
        "\nconcurrency = 4", "\nconcurency = 4"
    )
    with pytest.raises(ScenarioError, match=r": 2 problems\n") as info:
        load_scenario(write(tmp_path, text))
    assert any("duration_s" in p for p in info.value.problems)
    assert any("did you mean 'concurrency'" in p for p in info.value.problems)


def test_strict_types_reject_strings_and_booleans_for_numbers(tmp_path):
    text = edited("subscribers = 10", "subscribers = true")
    with pytest.raises(ScenarioError, match=r"workload\.subscribers: got True"):
        load_scenario(write(tmp_path, text))


def test_unknown_strategy_on_the_command_line(python):
    done = subprocess.run(
        [python, "-m", "sim", "run", "default", "--strategy", "brokr"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "no strategy named 'brokr' (did you mean 'broker'?)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_folder_is_not_a_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="is a folder; expected a TOML file"):
        load_scenario(tmp_path)


def test_overrides_replace_fields_and_reject_unknown_paths():
    sweep = load_sweep(
        "default",
        overrides={"simulation.replications": 2, "strategies.broker.timeout_s": 3.0},
    )
    assert sweep.base.simulation.replications == 2
    assert sweep.base.strategy("broker").timeout_s == 3.0
    with pytest.raises(
        ScenarioError,
        match=r"override 'simulation\.replicatons': "
        r"names no field: simulation has no 'replicatons' "
        r"\(did you mean 'replications'\?\)",
    ):
        load_scenario("default", overrides={"simulation.replicatons": 2})


@pytest.mark.parametrize(
    "text,message",
    [
        (
            edited("[0.001, 0.01, 0.1, 1, 10]", "[[1, 2]]"),
            r"got \[1, 2\]; expected single values",
        ),
        (
            edited(
                '"workload.arrivals.rate_per_s" = [', '"workload.arrivals.kind" = ['
            ),
            r"'kind' names or selects what is being run and cannot be swept",
        ),
        (
            edited("median = 1024, sigma = 0.5 }", "median = 1024, sigma = 40 }"),
            r"workload\.payload_bytes\.sigma: got 40; expected less than or equal to 5",
        ),
        (
            edited(
                'payload_bytes = { kind = "lognormal", median = 1024, sigma = 0.5 }',
                'payload_bytes = { kind = "fixed", value = 1e300 }',
            ),
            r"workload\.payload_bytes\.value: got 1e\+300; expected less than or equal",
        ),
        (
            edited("wait_s = 20", "wait_s = 1e-6"),
            r"one run would simulate about .* polls of strategy 'long_poll_20s'",
        ),
    ],
    ids=[
        "table as axis value",
        "kind as axis",
        "huge sigma",
        "huge payload",
        "tiny long-poll wait",
    ],
)
def test_more_bad_sweeps_are_refused(tmp_path, text, message):
    with pytest.raises(ScenarioError, match=message):
        load_sweep(write(tmp_path, text))


def test_a_retry_policy_that_never_stops_is_cut_off_with_a_clear_error(
    tmp_path, monkeypatch
):
    import sim.model.push

    # the real cap is 100 million attempts; a small one keeps the test short
    monkeypatch.setattr(sim.model.push, "MAX_ATTEMPTS_PER_RUN", 10_000)
    text = edited("timeout_s = 10\n", "timeout_s = 10\n", 1)
    text = text.replace(
        'name = "fanout"\nkind = "fanout"\nconcurrency = 20\ntimeout_s = 10',
        'name = "fanout"\nkind = "fanout"\nconcurrency = 20\ntimeout_s = 10\n'
        'retry = { kind = "fixed", delay_s = 0, max_attempts = 1000000000 }',
    )
    text = text.replace(
        "[subscriber]",
        '[subscriber.faults]\nwhen_down = "refuse"\n'
        "outages = [{ start_s = 0, duration_s = 1e9 }]\n\n[subscriber]",
    )
    path = write(tmp_path, text)
    from sim.errors import RunTooLarge
    from sim.run import run
    from sim.scenario import load_scenario

    scenario = load_scenario(
        path,
        overrides={
            "simulation.duration_s": 120.0,
            "simulation.warmup_s": 0.0,
            "workload.arrivals.rate_per_s": 10.0,
        },
    )
    with pytest.raises(RunTooLarge, match="more than 10,000 delivery attempts"):
        run(scenario, "fanout")
