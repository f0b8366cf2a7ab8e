"""The benchmark command and the measurements behind it (not their speed:
speed targets are checked by ``python -m sim bench`` and asv, not here)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from sim import bench
from sim.bench import Target
from sim import cli_bench
from sim.cli_bench import GROUP_NAMES, GROUPS, _table
from sim.model import simulate

from .conftest import ROOT


def test_a_small_fleet_is_mostly_empty_polls_and_one_delivery_per_event():
    s = bench.fleet(consumers=200, interval_s=0.1, duration_s=60.0, rate_per_s=2.0)
    outcome = simulate(s, "s", 0)
    polls = outcome.counts["polls"]
    # every consumer polls every tick: 200 consumers x 600 ticks, less the
    # polls reaching the publisher after the window (delay 2 ms)
    assert 200 * 600 - 200 <= polls <= 200 * 600
    assert outcome.counts["empty_polls"] >= polls - outcome.events_published
    assert outcome.latency_s.shape == (outcome.events_published,)
    assert bench.delivered(outcome) == outcome.events_published


def test_the_engines_agree_on_the_ratio_scenario():
    fast = simulate(bench.fleet(100, 1.0, 300.0, 1.0), "s", 0)
    reference = simulate(bench.fleet(100, 1.0, 300.0, 1.0, "reference"), "s", 0)
    assert fast.engine == "fast" and reference.engine == "reference"
    assert bench.differences(fast, reference) == []


def test_differences_name_what_differs():
    a = simulate(bench.fleet(20, 1.0, 200.0, 1.0), "s", 0)
    b = simulate(bench.fleet(20, 1.0, 200.0, 1.0, network=bench.NETWORK_DRAWN), "s", 0)
    found = bench.differences(a, b)
    assert "latency_s" in found and "cpu_s[subscribers]" not in found


def test_push_scenarios_deliver_what_they_promise():
    outcome = simulate(bench.push("broker", 5000), "s", 0)
    assert abs(bench.delivered(outcome) - 5000) < 5 * np.sqrt(5000)
    outcome = simulate(bench.many_deliveries(20_000), "s", 0)
    assert abs(bench.delivered(outcome) - 20_000) < 5 * np.sqrt(20_000)
    assert outcome.counts["timeouts"] == 0


def test_the_plain_mm1_runs_every_customer():
    _, cpu_s = bench.timed(lambda: bench.mm1_customers(2000))
    assert cpu_s > 0


def test_peak_memory_is_measured_in_a_fresh_process():
    made, peak = bench.peak_memory(5000)
    assert abs(made - 5000) < 5 * np.sqrt(5000)
    assert 10 * 2**20 < peak < 2**30


@pytest.mark.parametrize(
    ("measured", "higher", "passed"),
    [(5.0, True, False), (12.0, True, True), (5.0, False, True), (12.0, False, False)],
)
def test_a_target_passes_on_the_right_side(measured, higher, passed):
    assert Target("t", measured, 10.0, "x", higher).passed is passed


def test_the_table_shows_each_target_and_its_result():
    text = _table(
        [
            Target("fast", 120.0, 100.0, "x", True, "detail one"),
            Target("memory", 1.5, 1.0, "GiB", False),
        ]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["target", "measured", "goal", "result"]
    assert "pass" in lines[2] and ">= 100 x" in lines[2]
    assert lines[3].strip() == "detail one"
    assert "FAIL" in lines[4] and "< 1 GiB" in lines[4]


def bench_command(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m sim bench ARGS`` run from the project's root."""
    return subprocess.run(
        [sys.executable, "-m", "sim", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def test_the_bench_command_prints_its_targets_as_json():
    skipped = (f"--skip={g}" for g in ("pollers", "memory", "sweep", "push"))
    done = bench_command("--quick", "--json", *skipped, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["quick"] is True
    names = [t["name"] for t in out["targets"]]
    # the names give the sizes actually run: a tenth under --quick
    assert names == [
        "10k consumers @100 ms, 6 min, 10 ev/s",
        "fast/reference, 100 consumers @1 s, 1,000 s",
    ]
    ratio = out["targets"][1]
    assert "identical" in ratio["detail"] and ratio["measured"] > 1


def test_an_unknown_group_is_refused():
    done = bench_command("--skip", "everything")
    assert done.returncode == 2
    assert "everything" in done.stderr and "Traceback" not in done.stderr


def test_every_group_skipped_is_refused():
    done = bench_command(*(f"--skip={g}" for g in GROUP_NAMES))
    assert done.returncode == 2
    assert "nothing to measure" in done.stderr and "Traceback" not in done.stderr


def test_the_groups_are_those_the_options_name():
    assert tuple(GROUPS) == GROUP_NAMES


def fake_groups(monkeypatch, measured: float):
    groups = {
        "fleet": ("a fleet", lambda scale: [Target("t", measured, 10.0, "x", True)]),
        "pollers": (
            "pollers",
            lambda scale: {
                "short_poll": {
                    "fast_polls_per_cpu_s": 1e6,
                    "reference_polls_per_cpu_s": 1e5,
                    "speedup": 10.0,
                    "polls": 1000,
                    "identical": True,
                }
            },
        ),
    }
    monkeypatch.setattr(cli_bench, "GROUPS", groups)


@pytest.mark.parametrize(
    ("measured", "quick", "status"), [(12.0, False, 0), (5.0, False, 1), (5.0, True, 0)]
)
def test_a_missed_target_fails_the_command_at_full_size(
    monkeypatch, measured, quick, status
):
    fake_groups(monkeypatch, measured)
    result = CliRunner().invoke(cli_bench.bench_command, ["--quick"] if quick else [])
    assert result.exit_code == status, result.output
    assert ("FAIL" in result.output) is (measured < 10.0)


def test_the_json_gives_poller_figures_as_numbers(monkeypatch):
    fake_groups(monkeypatch, 12.0)
    result = CliRunner().invoke(cli_bench.bench_command, ["--json"])
    out = json.loads(result.output)
    assert out["pollers"]["short_poll"]["speedup"] == 10.0
    assert out["pollers"]["short_poll"]["identical"] is True
    assert out["targets"][0]["passed"] is True
