"""A sweep end to end: files written, rows complete, executors agree."""

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.metrics import METRIC_NAMES
from sim.scenario import load_sweep
from sim.summary import summarise
from sim.sweep import execute, runs_frame

SWEEP = """
name = "tiny"
[simulation]
duration_s = 300
warmup_s = 30
seed = 5
replications = 3
[workload]
subscribers = 4
arrivals = { kind = "poisson", rate_per_s = 1.0 }
payload_bytes = { kind = "lognormal", median = 2000, sigma = 0.8 }
[network]
latency_s = { kind = "exponential", mean = 0.003 }
request_overhead_bytes = 300
response_overhead_bytes = 200
[costs]
cpu_s_per_request_sent = 5e-5
cpu_s_per_request_handled = 1e-4
cpu_s_per_kib_serialised = 2e-6
cpu_s_per_kib_deserialised = 4e-6
[subscriber]
service_time_s = { kind = "uniform", low = 0.001, high = 0.02 }
concurrency = 2
[[strategies]]
name = "poll"
kind = "short_poll"
interval_s = 2
[[strategies]]
name = "long"
kind = "long_poll"
wait_s = 20
[[strategies]]
name = "fanout"
kind = "fanout"
concurrency = 4
timeout_s = 5
[[strategies]]
name = "broker"
kind = "broker"
push_concurrency = 2
timeout_s = 5
[sweep]
axes = { "workload.arrivals.rate_per_s" = [0.1, 1, 5], "strategies.poll.interval_s" = [1, 4] }
"""


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    return path


def test_sweep_writes_runs_summary_manifest_and_charts(sweep_file, tmp_path, python):
    out = tmp_path / "out"
    done = subprocess.run(
        [
            python,
            "-m",
            "sim",
            "sweep",
            str(sweep_file),
            "--out",
            str(out),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr

    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 3 * 2 * 4 * 3
    for column in [
        "point",
        "workload.arrivals.rate_per_s",
        "strategies.poll.interval_s",
        "strategy",
        "kind",
        "replication",
        "seed",
        *METRIC_NAMES,
    ]:
        assert column in runs.columns
    assert runs.groupby("point").size().eq(12).all()

    summary = pd.read_csv(out / "summary.csv")
    assert {"metric", "n", "mean", "ci95_low", "ci95_high", "versus"} <= set(
        summary.columns
    )
    # per point: each strategy's metrics, then each pair's paired differences
    assert summary["versus"].isna().sum() == 6 * 4 * len(METRIC_NAMES)
    assert summary["versus"].notna().sum() == 6 * 6 * len(METRIC_NAMES)
    crossovers = pd.read_csv(out / "crossovers.csv")
    assert {"metric", "crossover"} <= set(crossovers.columns)

    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("scenario", "seeds", "software", "started_at", "finished_at", "wall_s"):
        assert key in manifest
    assert manifest["software"]["python"]
    assert manifest["runs"] == len(runs)
    assert manifest["files"][-1] == "manifest.json"
    assert all((out / f).is_file() for f in manifest["files"])

    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert charts == sorted(
        [
            "latency.png",
            "cpu_per_event.png",
            "bytes_per_event.png",
            "requests_per_event.png",
            "empty_poll_fraction.png",
            "latency_cdf.png",
            "cost_of_waiting.png",
        ]
    )
    assert (out / "report.html").is_file()
    assert all((out / "charts" / c).read_bytes()[:4] == b"\x89PNG" for c in charts)
    assert not list(out.glob(".*.tmp")) and not list(out.glob("charts/.*.tmp"))


def test_process_pool_gives_the_same_rows_as_one_process(sweep_file):
    sweep = load_sweep(sweep_file)
    one = runs_frame(sweep, execute(sweep, jobs=1))
    two = runs_frame(sweep, execute(sweep, jobs=2))
    pd.testing.assert_frame_equal(one, two)


def test_charts_command_redraws_from_a_results_folder(sweep_file, tmp_path, python):
    out = tmp_path / "out"
    subprocess.run(
        [
            python,
            "-m",
            "sim",
            "sweep",
            str(sweep_file),
            "--out",
            str(out),
            "--jobs",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    for chart in (out / "charts").iterdir():
        chart.unlink()
    done = subprocess.run(
        [python, "-m", "sim", "charts", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert len(list((out / "charts").glob("*.png"))) == 7


def test_charts_of_a_folder_without_results_is_a_clear_error(tmp_path, python):
    done = subprocess.run(
        [python, "-m", "sim", "charts", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "not a results folder; missing runs.parquet, manifest.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_summary_interval_is_students_t_over_replications():
    values = [1.0, 2.0, 4.0]
    runs = pd.DataFrame(
        {
            "point": 0,
            "strategy": "s",
            "kind": "fanout",
            "replication": range(3),
            **{m: values for m in METRIC_NAMES},
        }
    )
    row = summarise(runs, []).query("metric == 'latency_p50_s'").iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(7 / 3)
    assert row["ci95_low"] == pytest.approx(7 / 3 - half)
    assert row["ci95_high"] == pytest.approx(7 / 3 + half)


def test_summary_counts_only_replications_where_a_metric_is_defined():
    runs = pd.DataFrame(
        {
            "point": 0,
            "strategy": "s",
            "kind": "fanout",
            "replication": range(3),
            **{m: [1.0, np.nan, 3.0] for m in METRIC_NAMES},
        }
    )
    row = summarise(runs, []).query("metric == 'latency_p50_s'").iloc[0]
    assert row["n"] == 2 and row["mean"] == 2.0


def test_per_event_metrics_pool_totals_across_replications():
    cpu, events = np.array([3.0, 1.0, 8.0]), np.array([1.0, 1.0, 6.0])
    runs = pd.DataFrame(
        {
            "point": 0,
            "strategy": "s",
            "kind": "fanout",
            "replication": range(3),
            **{m: 1.0 for m in METRIC_NAMES},
            "cpu_s_total": cpu,
            "events_published": events,
            "cpu_s_per_event": cpu / events,
        }
    )
    row = summarise(runs, []).query("metric == 'cpu_s_per_event'").iloc[0]
    # total over total (12 / 8), not the mean of 3, 1 and 1.33
    r = 12 / 8
    se = math.sqrt(((cpu - r * events) ** 2).sum() / (3 * 2)) / events.mean()
    half = stats.t.ppf(0.975, 2) * se
    assert row["mean"] == pytest.approx(r)
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((r - half, r + half))


def test_run_json_prints_one_object_per_strategy(python):
    done = subprocess.run(
        [
            python,
            "-m",
            "sim",
            "run",
            "default",
            "--strategy",
            "fanout",
            "--json",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["strategy"] == "fanout" and row["seed"] == 3
    assert row["empty_poll_fraction"] is None
    assert row["deliveries"] == row["events_published"] * 10


def test_a_results_folder_being_rewritten_has_no_manifest_until_done(
    sweep_file, tmp_path
):
    from sim.sweep import run_sweep, write_results

    sweep = load_sweep(sweep_file, overrides={"simulation.replications": 1})
    runs, info = run_sweep(sweep)
    out = tmp_path / "out"
    write_results(out, runs, info)
    assert (out / "manifest.json").is_file()

    def interrupted(_folder):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_results(out, runs, info, interrupted)
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda r: r.drop(columns=["latency_mean_s"]), "no column latency_mean_s"),
        (lambda r: r.iloc[0:0], "holds no runs"),
        (lambda r: pd.concat([r, r.iloc[:1]]), "1 rows repeat a"),
    ],
    ids=["missing column", "no rows", "repeated run"],
)
def test_damaged_results_are_refused_by_name(
    sweep_file, tmp_path, python, damage, message
):
    from sim.sweep import run_sweep, write_results

    sweep = load_sweep(sweep_file, overrides={"simulation.replications": 1})
    runs, info = run_sweep(sweep)
    out = tmp_path / "out"
    write_results(out, runs, info)
    damage(runs).to_parquet(out / "runs.parquet")
    done = subprocess.run(
        [python, "-m", "sim", "charts", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{out / 'runs.parquet'}: {message}" in done.stderr


def test_an_unwritable_out_folder_is_refused_before_any_run(tmp_path, python):
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = subprocess.run(
        [python, "-m", "sim", "sweep", "default", "--out", str(blocker / "x")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "cannot write results here" in done.stderr or "not a folder" in done.stderr
    assert "Traceback" not in done.stderr
