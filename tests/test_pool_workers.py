"""The workers of a local sweep's process pool end with the sweep: a sweep
killed with SIGKILL or SIGTERM leaves no process behind."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_resume import SLOW_SWEEP, records, sweep_command

try:
    import psutil
except ImportError:
    psutil = None

PROC = Path("/proc")


def pool_workers(pid: int) -> list[int]:
    """The live children of ``pid`` that are multiprocessing spawn workers."""
    if psutil is not None:
        try:
            children = psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    found.append(child.pid)
            except psutil.Error:
                pass  # ended meanwhile
        return found
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # ended meanwhile
        # the command name, in parentheses, may hold spaces: split after it
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, ended but not yet reaped by
    whoever adopted it, does not)."""
    if psutil is not None:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.skipif(
    psutil is None and not PROC.is_dir(),
    reason="cannot list a process's children here: no psutil and no /proc",
)
@pytest.mark.skipif(os.name != "posix", reason="workers watch for reparenting (POSIX)")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_the_workers_of_a_killed_sweep_exit(tmp_path, python, sig):
    sweep_file = tmp_path / "slow.toml"
    sweep_file.write_text(SLOW_SWEEP)
    out = tmp_path / "out"
    sweep = subprocess.Popen(
        sweep_command(python, sweep_file, out, "--jobs", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # both workers started and at work: a run has been recorded
        deadline = time.monotonic() + 120
        workers = []
        while len(workers) < 2 or not records(out):
            assert sweep.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() < deadline, "no two workers at work within 120 s"
            time.sleep(0.05)
            workers = pool_workers(sweep.pid)
    finally:
        sweep.send_signal(sig)
        sweep.wait()
    assert sweep.returncode == -sig

    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if alive(w)]
    for pid in left:  # leave nothing running, whatever the outcome
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived the sweep they worked for"
