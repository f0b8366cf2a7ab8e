"""The live, calibrate and compare commands, end to end."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim.metrics import METRIC_NAMES
from sim.scenario import load_scenario, read_cost_profile
from sim.sweep import read_results


def sim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def test_live_writes_the_results_folder_of_a_simulated_run(write_scenario, tmp_path):
    out = tmp_path / "live"
    done = sim(
        "live",
        write_scenario(),
        "--strategy",
        "fanout",
        "--duration",
        "1",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "scaled for a live run: simulation.duration_s 60 s -> 1 s" in done.stderr
    runs, info = read_results(out)
    assert list(runs["strategy"]) == ["fanout"]
    assert set(METRIC_NAMES) <= set(runs.columns)
    assert info["mode"] == "live" and info["transports"] == {"fanout": "http"}
    assert (out / "summary.csv").is_file()


def test_a_scenario_that_cannot_run_live_exits_2_without_a_traceback(
    write_scenario, tmp_path
):
    path = write_scenario("\n[subscriber.faults]\nerror_4xx_probability = 0.5\n")
    done = sim("live", path, "--out", str(tmp_path / "x"))
    assert done.returncode == 2
    assert "subscriber.faults: live runs inject no faults" in done.stderr
    assert "Traceback" not in done.stderr


def test_calibrate_writes_a_profile_a_scenario_loads(write_scenario, tmp_path):
    profile = tmp_path / "profile.toml"
    done = sim("calibrate", "--requests", "200", "--gap-ms", "0", "--out", str(profile))
    assert done.returncode == 0, done.stderr
    path = write_scenario()
    text = Path(path).read_text()
    text = (
        text[: text.index("[costs]")]
        + '[costs]\nprofile = "profile.toml"\n'
        + text[text.index("[subscriber]") :]
    )
    Path(path).write_text(text)
    costs = load_scenario(path).costs
    assert 0 < costs.cpu_s_per_request_sent < 0.01
    assert 0 < costs.cpu_s_per_kib_deserialised < 0.001


def test_compare_prints_and_writes_predicted_beside_measured(write_scenario, tmp_path):
    profile = tmp_path / "profile.toml"
    assert (
        sim(
            "calibrate", "--requests", "100", "--gap-ms", "0", "--out", str(profile)
        ).returncode
        == 0
    )
    out = tmp_path / "cmp"
    done = sim(
        "compare",
        write_scenario(),
        "--strategy",
        "short_poll",
        "--duration",
        "1",
        "--profile",
        str(profile),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "compare.csv")
    assert set(table["metric"]) >= {
        "deliveries",
        "polls",
        "bytes_total",
        "latency_p50_s",
    }
    deliveries = table[table["metric"] == "deliveries"].iloc[0]
    assert deliveries["predicted"] == deliveries["measured"]
    assert "short_poll" in done.stdout and "figures within target" in done.stdout
    assert (out / "compare.png").stat().st_size > 10_000
    read_results(out / "live")
    _, simulated = read_results(out / "simulated")
    used = simulated["scenario"]["costs"]
    assert used["profile"] == str(profile.resolve())
    assert used == {**read_cost_profile(profile), "profile": str(profile.resolve())}


def test_ctrl_c_stops_every_process_quietly(write_scenario, tmp_path):
    import os
    import signal
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "live",
            write_scenario(),
            "--strategy",
            "short_poll",
            "--duration",
            "20",
            "--out",
            str(tmp_path / "out"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # once the processes are spawned and running
        time.sleep(4)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "aborted" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not (tmp_path / "out").exists()  # nothing was written into it
