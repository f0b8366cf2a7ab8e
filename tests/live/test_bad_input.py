"""Bad input to the live commands: refused before anything is measured or
run, with a message naming what is wrong, exit status 2 and no traceback.
Nothing here starts a live run."""

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.live.calibrate import profile_toml
from sim.live.compare import TARGETS, comparison_table
from sim.scenario import load_scenario

from .test_plan_and_profile import PROFILE, with_profile


def sim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def refused(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_calibrate_refuses_a_special_file_before_measuring(fifo, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(fifo)
    for target in (fifo, link):
        done = sim("calibrate", "--requests", "100", "--out", str(target))
        refused(done, f"{target}: is not a regular file")
        assert "calibrat" not in done.stdout
    assert fifo.is_fifo() and link.is_symlink() and link.resolve() == fifo


def test_calibrate_refuses_a_file_in_place_of_a_folder_before_measuring(tmp_path):
    (tmp_path / "afile").write_text("kept\n")
    done = sim("calibrate", "--out", str(tmp_path / "afile" / "x.toml"))
    refused(done, "afile is not a folder")
    assert (tmp_path / "afile").read_text() == "kept\n"


@pytest.mark.parametrize("command", ["live", "calibrate"])
def test_an_empty_out_is_refused(command, tmp_path):
    args = ["zapier-polling"] if command == "live" else []
    done = sim(command, *args, "--out", "", cwd=tmp_path)
    refused(done, "an empty path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("live", "--duration", "nan"),
        ("compare", "--duration", "nan"),
        ("live", "--duration", "-nan"),
        ("calibrate", "--gap-ms", "nan"),
        ("calibrate", "--gap-ms", "inf"),
    ],
)
def test_non_finite_numbers_are_refused(command, option, value, tmp_path):
    args = ["zapier-polling"] if command != "calibrate" else []
    out = tmp_path / ("p.toml" if command == "calibrate" else "out")
    done = sim(command, *args, option, value, "--out", str(out))
    refused(done, f"Invalid value for '{option}'")
    assert not out.exists()


def test_a_profile_that_is_not_a_regular_file_is_refused(
    write_scenario, tmp_path, fifo
):
    path = with_profile(write_scenario, tmp_path, f'profile = "{fifo}"')
    with pytest.raises(ScenarioError, match="is not a regular file"):
        load_scenario(path)
    done = sim("compare", path, "--profile", str(fifo), "--out", str(tmp_path / "c"))
    refused(done, "is not a regular file")


COSTS = "".join(f"{k} = {v}\n" for k, v in PROFILE["costs"].items())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"network = 5\n[costs]\n{COSTS}", r"network: got 5; expected a table"),
        (f"[costs]\n{COSTS}[costs.profile]\nx = 1\n", r"costs\.profile: unknown key"),
        (f"[costs]\n{COSTS}cpu_s_per_requst_sent = 1\n", r"costs\.cpu_s_per_requst_"),
        (f"[costs]\n{COSTS}[extra]\n", r"unknown table 'extra'"),
    ],
)
def test_a_profile_of_the_wrong_shape_is_refused(
    write_scenario, tmp_path, text, message
):
    (tmp_path / "profile.toml").write_text(text)
    path = with_profile(write_scenario, tmp_path, 'profile = "profile.toml"')
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
    done = sim(
        "compare",
        path,
        "--profile",
        str(tmp_path / "profile.toml"),
        "--out",
        str(tmp_path / "c"),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_a_missing_profile_figure_is_called_missing(write_scenario, tmp_path):
    costs = dict(PROFILE["costs"])
    del costs["cpu_s_per_kib_serialised"]
    (tmp_path / "profile.toml").write_text(profile_toml({**PROFILE, "costs": costs}))
    path = with_profile(write_scenario, tmp_path, 'profile = "profile.toml"')
    with pytest.raises(ScenarioError, match=r"cpu_s_per_kib_serialised: missing"):
        load_scenario(path)


def test_undefined_metrics_neither_crash_nor_count_as_misses():
    predicted = dict.fromkeys(TARGETS, 1.0) | {"latency_p50_s": math.nan}
    measured = dict.fromkeys(TARGETS, 1.0) | {"latency_p50_s": math.nan}
    table = comparison_table([("s", "http", predicted, measured)])
    assert "latency_p50_s" not in set(table["metric"])
    assert table["met"].all()
    one_sided = comparison_table(
        [("s", "http", predicted, measured | {"latency_p50_s": 0.1})]
    )
    row = one_sided[one_sided["metric"] == "latency_p50_s"].iloc[0]
    assert math.isnan(row["ratio"]) and not row["met"]
    from sim.cli import main  # noqa: F401  (imports sim.cli_live in order)
    from sim.cli_live import _num

    assert _num(math.nan) == "-" and _num(384.0) == "384"


def test_a_scenario_that_is_not_a_regular_file_is_refused(fifo, tmp_path):
    done = sim("live", str(fifo), "--out", str(tmp_path / "out"))
    refused(done, f"{fifo}: is not a regular file")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", ["live", "compare"])
def test_an_unreachable_broker_is_named_before_anything_runs(
    command, write_scenario, tmp_path
):
    port = closed_port()
    path = write_scenario().replace("tiny.toml", "closed.toml")
    text = Path(write_scenario()).read_text()
    Path(path).write_text(text.replace("127.0.0.1:5672", f"127.0.0.1:{port}"))
    started = time.monotonic()
    done = sim(command, path, "--out", str(tmp_path / "out"))
    refused(done, f"connection refused at 127.0.0.1:{port}")
    assert "short_poll (http)" not in done.stderr and "calibrating" not in done.stderr
    assert time.monotonic() - started < 20
    assert not (tmp_path / "out").exists()


def test_an_invalid_broker_url_is_called_invalid(write_scenario, tmp_path):
    path = write_scenario().replace("tiny.toml", "bogus.toml")
    text = Path(write_scenario()).read_text()
    Path(path).write_text(text.replace("%2F", "%2F?bogus=1"))
    done = sim("live", path, "--strategy", "rabbitmq_push", "--out", str(tmp_path))
    refused(done, "live.broker_url: 'amqp://guest:guest@127.0.0.1:5672/%2F?bogus=1'")
    assert "is not a valid RabbitMQ URL (Unknown URL parameter: 'bogus')" in done.stderr
