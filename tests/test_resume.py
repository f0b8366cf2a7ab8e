"""A sweep records each run as it finishes, and one that is killed and run
again computes only the runs it lacks, ending with the same files."""

import json
import os
import signal
import subprocess
import time

import pandas as pd

from tests.test_sweep import SWEEP

# Long enough runs (about 0.3 s each) that a sweep can be killed midway.
SLOW_SWEEP = SWEEP.replace("duration_s = 300", "duration_s = 3000").replace(
    "replications = 3", "replications = 2"
)
SMALL_SWEEP = SWEEP.replace("replications = 3", "replications = 1")
RESULT_FILES = ["runs.parquet", "summary.csv", "crossovers.csv"]


def sweep_command(python, sweep_file, out, *extra):
    return [python, "-m", "sim", "sweep", str(sweep_file), "--out", str(out), *extra]


def swept(python, sweep_file, out, *extra):
    """Run the sweep command to the end; its stderr."""
    done = subprocess.run(
        sweep_command(python, sweep_file, out, *extra), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def records(out):
    """The run records of a results folder (none before the sweep starts)."""
    return sorted((out / ".runs").glob("*.json"))


def test_a_sweep_killed_partway_resumes_without_recomputing_finished_runs(
    tmp_path, python
):
    sweep_file = tmp_path / "slow.toml"
    sweep_file.write_text(SLOW_SWEEP)
    total = 6 * 4 * 2
    out = tmp_path / "killed"

    # one process, so that SIGKILL to it stops every run
    sweep = subprocess.Popen(
        sweep_command(python, sweep_file, out, "--jobs", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(records(out)) < 10:
            assert sweep.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() < deadline, "no run recorded within 120 s"
            time.sleep(0.05)
    finally:
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()

    finished = records(out)
    assert 10 <= len(finished) < total
    assert not (out / "manifest.json").exists()
    for record in finished:  # every record on disk is whole
        assert json.loads(record.read_text())["result"]["strategy"]
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in finished}

    resumed = swept(python, sweep_file, out, "--jobs", "2", "--resume")
    assert f"resuming: {len(finished)} of {total} runs already recorded" in resumed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs_reused"] == len(finished)
    assert manifest["runs_computed"] == total - len(finished)
    assert manifest["runs"] == total
    # no finished run was written again: same file, same modification time
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in records(out)}
    assert {name: after[name] for name in before} == before
    assert len(after) == total
    assert not list((out / ".runs").glob(".*.tmp"))

    whole = tmp_path / "whole"
    swept(python, sweep_file, whole, "--jobs", "2")
    for name in RESULT_FILES:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_changed_sweep_file_recomputes_its_stale_runs_and_says_so(tmp_path, python):
    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text(SMALL_SWEEP)
    out = tmp_path / "out"
    swept(python, sweep_file, out, "--jobs", "2")

    # the rate of one point changes: its 2 x 4 runs are stale, 16 still hold
    changed = SMALL_SWEEP.replace("[0.1, 1, 5]", "[0.1, 1, 6]")
    assert changed != SMALL_SWEEP
    sweep_file.write_text(changed)
    again = swept(python, sweep_file, out, "--jobs", "2")
    assert (
        "8 recorded runs no longer match the sweep file (its scenario, or a log "
        "file it reads, changed): "
        "computing them again" in again
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["runs_computed"], manifest["runs_reused"]) == (8, 16)

    fresh = tmp_path / "fresh"
    swept(python, sweep_file, fresh, "--jobs", "2")
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "runs.parquet"), pd.read_parquet(fresh / "runs.parquet")
    )
    rates = pd.read_parquet(out / "runs.parquet")["workload.arrivals.rate_per_s"]
    assert set(rates) == {0.1, 1, 6}


def test_a_record_that_cannot_be_read_is_computed_again(tmp_path):
    from sim.scenario import load_sweep
    from sim.sweep import RunStore, plan, run_sweep, tasks

    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text(SMALL_SWEEP)
    sweep = load_sweep(sweep_file)
    out = tmp_path / "out"
    runs, _ = run_sweep(sweep, folder=out)
    store = RunStore(out)
    store.path(tasks(sweep)[3]).write_text('{"key": "trunc')

    planned = plan(sweep, out)
    assert (planned.unreadable, planned.stale, planned.todo) == (1, 0, (3,))
    again, info = run_sweep(sweep, folder=out, planned=planned)
    assert (info["runs_computed"], info["runs_reused"]) == (1, len(runs) - 1)
    pd.testing.assert_frame_equal(runs, again)


def test_resume_of_a_folder_without_runs_is_refused(tmp_path, python):
    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text(SMALL_SWEEP)
    done = subprocess.run(
        sweep_command(python, sweep_file, tmp_path / "empty", "--resume"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "nothing to resume (no .runs/ folder of finished runs)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "empty").exists()


def test_resume_of_a_folder_whose_run_store_is_empty_is_refused(tmp_path, python):
    # what a sweep that failed before its first run (a Dask scheduler that
    # did not answer, say) leaves behind
    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text(SMALL_SWEEP)
    out = tmp_path / "out"
    (out / ".runs").mkdir(parents=True)
    done = subprocess.run(
        sweep_command(python, sweep_file, out, "--resume"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {out}: nothing to resume (.runs/ holds no finished run of this "
        "sweep); expected the --out folder of an earlier run of it, or no "
        "--resume to start afresh\n"
    )
    assert os.listdir(out) == [".runs"] and not records(out)

    # without --resume the same folder is fine
    swept(python, sweep_file, out)
    assert len(records(out)) == 6 * 4


def test_stray_temporary_records_of_a_killed_sweep_are_removed(tmp_path):
    from sim.scenario import load_sweep
    from sim.sweep import run_sweep

    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text(SMALL_SWEEP)
    out = tmp_path / "out"
    (out / ".runs").mkdir(parents=True)
    stray = out / ".runs" / ".p000000-r0000-poll.json.abc.tmp"
    stray.write_text("{")  # what a write cut short by a kill leaves
    run_sweep(load_sweep(sweep_file), folder=out)
    assert not stray.exists()
    assert os.listdir(out / ".runs")


# The tiny sweep's arrivals replayed from a log file next to the sweep file:
# 2 points x 4 strategies x 1 replication.
REPLAY_SWEEP = SMALL_SWEEP.replace(
    'arrivals = { kind = "poisson", rate_per_s = 1.0 }',
    'arrivals = { kind = "replay", file = "log.csv", time_column = "t", '
    'time_unit = "s" }',
).replace(
    'axes = { "workload.arrivals.rate_per_s" = [0.1, 1, 5], '
    '"strategies.poll.interval_s" = [1, 4] }',
    'axes = { "strategies.poll.interval_s" = [1, 4] }',
)


def write_log(path, events):
    """A log of ``events`` events, one a second."""
    path.write_text("t\n" + "".join(f"{i}\n" for i in range(events)))


def test_an_edited_log_file_means_new_runs(tmp_path, python):
    assert REPLAY_SWEEP.count("replay") == 1 and "rate_per_s" not in REPLAY_SWEEP
    sweep_file = tmp_path / "replay.toml"
    sweep_file.write_text(REPLAY_SWEEP)
    write_log(tmp_path / "log.csv", 300)
    out = tmp_path / "out"
    swept(python, sweep_file, out, "--jobs", "2")
    events = pd.read_parquet(out / "runs.parquet")["events_published"]
    assert set(events) == {270}  # 300 s of one a second, less a 30 s warmup

    # the same path, fewer rows: every run is stale, none is reused
    write_log(tmp_path / "log.csv", 100)
    again = swept(python, sweep_file, out, "--jobs", "2")
    assert "already recorded" not in again
    assert "8 recorded runs no longer match the sweep file" in again
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["runs_computed"], manifest["runs_reused"]) == (8, 0)
    events = pd.read_parquet(out / "runs.parquet")["events_published"]
    assert set(events) == {70}

    # the log unchanged: every run is reused
    third = swept(python, sweep_file, out, "--jobs", "2")
    assert "resuming: 8 of 8 runs already recorded" in third


def test_the_run_key_covers_the_bytes_of_the_logs_a_scenario_reads(tmp_path):
    from sim.scenario import load_sweep
    from sim.sweep import run_key, tasks
    from sim.workload_file import log_files

    sweep_file = tmp_path / "replay.toml"
    sweep_file.write_text(REPLAY_SWEEP)
    log = tmp_path / "log.csv"
    write_log(log, 300)
    scenario = load_sweep(sweep_file).scenarios[0]
    task = tasks(load_sweep(sweep_file))[0]
    assert log_files(scenario) == [log.resolve()]
    before = run_key(scenario, task)
    assert run_key(scenario, task) == before

    # other bytes of the same size (an edit moves the modification time on)
    stat = log.stat()
    log.write_text(log.read_text().replace("\n1\n", "\n2\n", 1))
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert log.stat().st_size == stat.st_size
    assert run_key(scenario, task) != before
