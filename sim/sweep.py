"""Sweeps: every grid point x strategy x replication, run in parallel, and
the results folder they produce.

A results folder holds ``runs.parquet`` (one row per run), ``summary.csv``
(:mod:`sim.summary`, then the paired differences of :mod:`sim.compare`),
``crossovers.csv`` and ``manifest.json`` (what was run, with what software,
when and how long it took, and the files written). Every file is written to
a temporary name and renamed into place, so a reader never sees half a file;
the manifest is written last.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sim
from sim.compare import compare_runs
from sim.errors import ResultsError
from sim.metrics import METRIC_NAMES
from sim.run import RunResult, run
from sim.scenario import Sweep
from sim.summary import summarise

RUNS_FILE = "runs.parquet"
SUMMARY_FILE = "summary.csv"
CROSSOVERS_FILE = "crossovers.csv"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Task:
    """One run of a sweep."""

    point: int
    strategy: str
    replication: int


def tasks(sweep: Sweep) -> list[Task]:
    """Every run of the sweep, in the order rows are written."""
    return [
        Task(point, strategy.name, rep)
        for point, scenario in enumerate(sweep.scenarios)
        for strategy in scenario.strategies
        for rep in range(scenario.simulation.replications)
    ]


def execute(
    sweep: Sweep,
    jobs: int = 1,
    on_done: Callable[[Task, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run every task of ``sweep`` on ``jobs`` processes.

    Results come back in :func:`tasks` order whatever order runs finish in.
    ``on_done`` is called as each run finishes (for progress reporting).
    """
    todo = tasks(sweep)
    # Start the costliest points first so that no worker is left with a long
    # run at the end while the others idle.
    order = sorted(range(len(todo)), key=lambda i: -_cost(sweep, todo[i]))
    results: list[RunResult | None] = [None] * len(todo)

    if jobs <= 1:
        for i in order:
            results[i] = _run_task(sweep.scenarios[todo[i].point], todo[i])
            if on_done:
                on_done(todo[i], results[i])
        return results  # type: ignore[return-value]

    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(_run_task, sweep.scenarios[todo[i].point], todo[i]): i
            for i in order
        }
        for future in cf.as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done:
                on_done(todo[i], results[i])
    return results  # type: ignore[return-value]


def _run_task(scenario, task: Task) -> RunResult:
    return run(scenario, task.strategy, task.replication)


def _cost(sweep: Sweep, task: Task) -> float:
    scenario = sweep.scenarios[task.point]
    return (
        scenario.workload.arrivals.mean_rate_per_s
        * scenario.workload.subscribers
        * scenario.simulation.duration_s
    )


def runs_frame(sweep: Sweep, results: list[RunResult]) -> pd.DataFrame:
    """One row per run: point, swept parameters, identity, metrics."""
    rows = [
        {"point": task.point, **sweep.points[task.point], **result.row()}
        for task, result in zip(tasks(sweep), results)
    ]
    return pd.DataFrame(rows)


def manifest(
    sweep: Sweep,
    results: list[RunResult],
    *,
    started: datetime,
    finished: datetime,
    wall_s: float,
    jobs: int,
) -> dict:
    """What was run, with which software, and how long it took."""
    base = sweep.base.simulation
    return {
        "sweep": sweep.name,
        "source": sweep.source,
        "axes": sweep.axes,
        "points": len(sweep.points),
        "strategies": [s.name for s in sweep.base.strategies],
        "replications": base.replications,
        "runs": len(results),
        "seeds": {
            "scenario_seed": base.seed,
            "derivation": "numpy SeedSequence(scenario_seed, spawn_key=(replication, "
            "stream, ...)); every sweep point uses the same scenario seed",
            "replications": list(range(base.replications)),
        },
        "scenario": sweep.base.model_dump(mode="json"),
        "software": {
            "pollpush": sim.__version__,
            "git_commit": _git_commit(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "numpy": _version("numpy"),
            "simpy": _version("simpy"),
            "pandas": _version("pandas"),
        },
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 3),
        "simulator_cpu_s": round(sum(r.wall_s for r in results), 3),
        "jobs": jobs,
    }


def run_sweep(sweep: Sweep, jobs: int = 1, on_done=None) -> tuple[pd.DataFrame, dict]:
    """Run ``sweep``; returns its runs and its manifest (nothing is written)."""
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    results = execute(sweep, jobs, on_done)
    wall_s = time.perf_counter() - clock
    finished = datetime.now(timezone.utc)
    info = manifest(
        sweep, results, started=started, finished=finished, wall_s=wall_s, jobs=jobs
    )
    return runs_frame(sweep, results), info


def write_results(
    out: Path,
    runs: pd.DataFrame,
    info: dict,
    extra: Callable[[Path], list[str]] | None = None,
) -> dict:
    """Write a results folder: runs, summary, crossovers, whatever ``extra``
    writes (charts, say; it returns the names), and the manifest last.

    The old manifest goes first, so a folder being rewritten is never
    mistaken for a finished one; the new manifest lists every file written.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).unlink(missing_ok=True)
    axes = list(info["axes"])
    write_atomic(out / RUNS_FILE, lambda p: runs.to_parquet(p, index=False))
    comparison = compare_runs(runs, axes)
    summary = pd.concat(
        [summarise(runs, axes), comparison.differences], ignore_index=True
    )
    write_atomic(out / SUMMARY_FILE, lambda p: summary.to_csv(p, index=False))
    write_atomic(
        out / CROSSOVERS_FILE, lambda p: comparison.crossovers.to_csv(p, index=False)
    )
    names = extra(out) if extra is not None else []
    info = {
        **info,
        "files": [RUNS_FILE, SUMMARY_FILE, CROSSOVERS_FILE, *names, MANIFEST_FILE],
    }
    write_atomic(
        out / MANIFEST_FILE, lambda p: p.write_text(json.dumps(info, indent=2))
    )
    return info


def read_results(folder: Path) -> tuple[pd.DataFrame, dict]:
    """The runs and manifest of a results folder, checked for consistency."""
    missing = [n for n in (RUNS_FILE, MANIFEST_FILE) if not (folder / n).is_file()]
    if missing:
        raise ResultsError(
            f"{folder}: not a results folder; missing {', '.join(missing)} "
            "(a sweep writes them, the manifest last)"
        )
    try:
        info = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder / MANIFEST_FILE}: cannot be read: {exc}") from None
    try:
        runs = pd.read_parquet(folder / RUNS_FILE)
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder / RUNS_FILE}: cannot be read: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("axes"), dict):
        raise ResultsError(f"{folder / MANIFEST_FILE}: field 'axes': expected a table")

    where = folder / RUNS_FILE
    needed = ["point", *info["axes"], "strategy", "kind", "replication", *METRIC_NAMES]
    absent = [c for c in needed if c not in runs.columns]
    if absent:
        raise ResultsError(
            f"{where}: no column {', '.join(absent)}; expected the columns a sweep "
            "of this pollpush version writes (rerun the sweep)"
        )
    if runs.empty:
        raise ResultsError(f"{where}: holds no runs")
    repeated = runs.duplicated(["point", "strategy", "replication"]).sum()
    if repeated:
        raise ResultsError(
            f"{where}: {repeated} rows repeat a (point, strategy, replication); "
            "expected one row per run"
        )
    points = runs.groupby("point")[list(info["axes"])].nunique(dropna=False)
    if len(points) and (points > 1).any().any():
        raise ResultsError(
            f"{folder}: the swept parameters in manifest.json "
            f"({', '.join(info['axes']) or 'none'}) do not identify the points "
            "of runs.parquet"
        )
    return runs, info


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{out}-dirty" if dirty else out


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except (ImportError, AttributeError):
        return None
