"""Sweeps on a Dask cluster give the rows a local process pool gives, and a
Dask executor that cannot be used is one clear error."""

import json
import socket
import subprocess
import time

import pandas as pd
import pytest

from sim.scenario import load_sweep
from sim.sweep import run_sweep
from tests.test_sweep import SWEEP

SMALL_SWEEP = SWEEP.replace("replications = 3", "replications = 1")


@pytest.fixture(scope="module")
def scheduler():
    """The address of a two-worker Dask LocalCluster on 127.0.0.1."""
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (extra 'dask')"
    )
    try:
        cluster = distributed.LocalCluster(
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
        )
    except Exception as exc:  # any failure to start means: cannot test here
        pytest.skip(f"a Dask LocalCluster cannot start here: {exc!r}")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SWEEP)
    return path


def test_a_dask_cluster_gives_the_same_runs_as_the_local_pool(
    sweep_file, scheduler, tmp_path
):
    sweep = load_sweep(sweep_file)
    local, local_info = run_sweep(sweep, jobs=2, folder=tmp_path / "local")
    dask, dask_info = run_sweep(sweep, folder=tmp_path / "dask", scheduler=scheduler)
    pd.testing.assert_frame_equal(local, dask)
    assert (local_info["executor"], dask_info["executor"]) == ("local", "dask")
    assert dask_info["scheduler"] == scheduler


def test_the_sweep_command_on_dask_writes_the_files_of_a_local_sweep(
    sweep_file, scheduler, tmp_path, python
):
    outs = {"local": tmp_path / "local", "dask": tmp_path / "dask"}
    for executor, extra in [
        ("local", ["--jobs", "2"]),
        ("dask", ["--executor", "dask", "--scheduler", scheduler]),
    ]:
        out = str(outs[executor])
        done = subprocess.run(
            [python, "-m", "sim", "sweep", str(sweep_file), "--out", out, *extra],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    assert f"on Dask scheduler {scheduler}" in done.stderr
    for name in ["runs.parquet", "summary.csv", "crossovers.csv"]:
        local, dask = (outs[e] / name for e in ("local", "dask"))
        assert local.read_bytes() == dask.read_bytes(), name
    manifest = json.loads((outs["dask"] / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["runs_computed"] == 24


@pytest.mark.parametrize(
    "options,message",
    [
        (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is only for --executor"),
    ],
    ids=["dask without scheduler", "scheduler without dask"],
)
def test_inconsistent_executor_options_are_refused(
    sweep_file, tmp_path, python, options, message
):
    done = subprocess.run(
        [python, "-m", "sim", "sweep", str(sweep_file), "--out", str(tmp_path / "o")]
        + options,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def dask_sweep(python, sweep_file, out, address) -> subprocess.CompletedProcess:
    """``python -m sim sweep`` of ``sweep_file`` on the Dask scheduler at
    ``address``."""
    return subprocess.run(
        [python, "-m", "sim", "sweep", str(sweep_file), "--out", str(out)]
        + ["--executor", "dask", "--scheduler", address],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unreachable_scheduler_is_one_clear_error(sweep_file, tmp_path, python):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    # a port on 127.0.0.1 that nothing listens on once the probe is closed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    done = dask_sweep(python, sweep_file, tmp_path / "o", address)
    assert done.returncode == 2
    assert f"error: Dask scheduler '{address}': cannot connect within" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "o").glob("*.parquet"))


@pytest.mark.parametrize(
    "address,message",
    [
        ("nonsense", "not a scheduler address; expected tcp://HOST:PORT or HOST:PORT"),
        ("http://127.0.0.1:8786", "scheme 'http://' is not supported; expected tcp://"),
        ("tls://127.0.0.1:8786", "scheme 'tls://' is not supported"),
        ("inproc://x", "scheme 'inproc://' is not supported"),
        ("ucx://127.0.0.1:8786", "scheme 'ucx://' is not supported"),
        ("tcp://[::1", "not a scheduler address"),
        ("tcp://127.0.0.1:8787/x", "not a scheduler address"),
        ("tcp://127.0.0.1", "not a scheduler address"),
        ("127.0.0.1:70000", "port 70000 is out of range; expected a port from 1 to"),
        ("tcp://127.0.0.1:0", "port 0 is out of range"),
    ],
)
def test_a_malformed_scheduler_address_is_refused_before_anything_is_written(
    sweep_file, tmp_path, python, address, message
):
    started = time.monotonic()
    done = dask_sweep(python, sweep_file, tmp_path / "o", address)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: Dask scheduler {address!r}: {message}")
    assert len(done.stderr.splitlines()) == 1  # one line, no traceback
    assert "cannot connect" not in done.stderr
    assert not (tmp_path / "o").exists()
    assert time.monotonic() - started < 30  # refused at once, not timed out


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tcp://[::1]:8786", "h-1:1"]
)
def test_well_formed_scheduler_addresses_pass_the_check(address):
    from sim.sweep import check_scheduler

    check_scheduler(address)


def test_a_client_that_fails_to_start_is_closed_at_once(python):
    # Dask's own refusal of an address it cannot parse, with our check out of
    # the way: one error, and no half-open Client left to block and complain
    # as it is collected.
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    code = (
        "import sim.sweep as s\n"
        "s.check_scheduler = lambda address: None\n"
        "try:\n"
        "    s.connect_dask('nonsense')\n"
        "except s.ExecutorError as exc:\n"
        "    print(exc)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Dask cannot use this address (missing port number" in done.stdout
    assert "cannot connect" not in done.stdout
    assert done.stderr == ""
    assert time.monotonic() - started < 15
