"""Sweeps: every grid point x strategy x replication, run in parallel, and
the results folder they produce.

A results folder holds ``runs.parquet`` (one row per run), ``summary.csv``
(:mod:`sim.summary`, then the paired differences of :mod:`sim.compare`),
``crossovers.csv`` and ``manifest.json`` (what was run, with what software,
when and how long it took, and the files written). Every file is written to
a temporary name and renamed into place, so a reader never sees half a file;
the manifest is written last.

Runs go to a local process pool or to a Dask cluster (``scheduler``); both
call the same pure :func:`sim.run.run`, so they give the same rows. Each run
is recorded in the folder's ``.runs/`` as it finishes (:class:`RunStore`),
so a sweep holds no results in memory while it runs, and one that is killed
and started again computes only the runs that are missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sim
from sim.compare import compare_runs
from sim.errors import PollpushError, ResultsError, ScenarioError
from sim.metrics import METRIC_NAMES
from sim.pool_worker import watch_parent
from sim.run import RunResult, run
from sim.scenario import Sweep
from sim.summary import summarise
from sim.workload_file import log_files

RUNS_FILE = "runs.parquet"
SUMMARY_FILE = "summary.csv"
CROSSOVERS_FILE = "crossovers.csv"
MANIFEST_FILE = "manifest.json"
RUNS_STORE = ".runs"


@dataclass(frozen=True)
class Task:
    """One run of a sweep."""

    point: int
    strategy: str
    replication: int


class ExecutorError(PollpushError):
    """An executor that cannot be used: a Dask scheduler that does not
    answer, or Dask not installed."""


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
    *,
    scheduler: str | None = None,
) -> list[RunResult]:
    """Run every task of ``sweep`` on ``jobs`` local processes, or on the
    Dask scheduler at ``scheduler`` when one is given, and keep the results
    in memory (:func:`run_sweep` streams them to disk instead).

    Results come back in :func:`tasks` order whatever order runs finish in.
    ``on_done`` is called as each run finishes (for progress reporting).
    """
    todo = tasks(sweep)
    results: list[RunResult | None] = [None] * len(todo)
    for i, result in _results(sweep, todo, range(len(todo)), jobs, scheduler):
        results[i] = result
        if on_done:
            on_done(todo[i], result)
    return results  # type: ignore[return-value]


def _results(
    sweep: Sweep,
    todo: list[Task],
    indexes: Iterable[int],
    jobs: int,
    scheduler: str | None,
) -> Iterator[tuple[int, RunResult]]:
    """(index, result) for each of ``indexes`` of ``todo``, as runs finish."""
    # Start the costliest points first so that no worker is left with a long
    # run at the end while the others idle.
    order = sorted(indexes, key=lambda i: -_cost(sweep, todo[i]))
    if scheduler is not None:
        yield from _dask_results(sweep, todo, order, scheduler)
        return
    if jobs <= 1:
        for i in order:
            yield i, _run_task(sweep.scenarios[todo[i].point], todo[i])
        return

    # Workers are handed sim.run.run itself, so each imports the model and
    # no more: this module's pandas and scipy would cost every worker about
    # half a second before its first run. Each also watches this process, and
    # ends when it does, rather than wait on its queue forever if the sweep is
    # killed (sim.pool_worker imports the standard library only).
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=watch_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {
            pool.submit(
                run,
                sweep.scenarios[todo[i].point],
                todo[i].strategy,
                todo[i].replication,
            ): i
            for i in order
        }
        for future in cf.as_completed(futures):
            yield futures[future], future.result()


def _dask_results(
    sweep: Sweep, todo: list[Task], order: list[int], scheduler: str
) -> Iterator[tuple[int, RunResult]]:
    client = connect_dask(scheduler)
    try:
        # Each point's scenario is sent to the cluster once, not once per run.
        points = sorted({todo[i].point for i in order})
        scattered = dict(
            zip(points, client.scatter([sweep.scenarios[p] for p in points]))
        )
        futures = {
            client.submit(_run_task, scattered[todo[i].point], todo[i], pure=False): i
            for i in order
        }
        from distributed import as_completed

        for future in as_completed(futures, loop=client.loop):
            yield futures[future], future.result()
    finally:
        client.close()


# What --scheduler takes: tcp://HOST:PORT, or HOST:PORT (Dask's default
# scheme is tcp), an IPv6 host in brackets. Other schemes need settings the
# sweep does not take (tls:// certificates, ucx:// its own package), and
# inproc:// reaches only a scheduler in this very process.
_SCHEDULER_ADDRESS = re.compile(
    r"(?:tcp://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]+)"
)
_SCHEDULER_EXPECTED = (
    "expected tcp://HOST:PORT or HOST:PORT, such as tcp://127.0.0.1:8786 "
    "or tcp://[::1]:8786"
)


def check_scheduler(scheduler: str) -> None:
    """Raise :class:`ExecutorError` unless ``scheduler`` has the form of the
    address of a Dask scheduler that a sweep can use (whether one answers
    there is for :func:`connect_dask` to find out)."""
    where = f"Dask scheduler {scheduler!r}"
    match = _SCHEDULER_ADDRESS.fullmatch(scheduler)
    if match is None:
        scheme, sep, _ = scheduler.partition("://")
        if sep and scheme.lower() != "tcp":
            raise ExecutorError(
                f"{where}: scheme {scheme + sep!r} is not supported; "
                f"{_SCHEDULER_EXPECTED}"
            )
        raise ExecutorError(f"{where}: not a scheduler address; {_SCHEDULER_EXPECTED}")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise ExecutorError(
            f"{where}: port {port} is out of range; expected a port from 1 to 65535"
        )


def connect_dask(scheduler: str, timeout_s: float = 10.0):
    """A dask.distributed Client of the scheduler at ``scheduler``."""
    check_scheduler(scheduler)
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError(
            "--executor dask needs dask.distributed; install it with "
            "pip install 'pollpush[dask]'"
        ) from None

    class _Client(Client):
        # A Client that fails to start for any reason other than an OSError
        # is left half open, and its __del__ then waits 20 s on an event loop
        # that no longer serves it and prints the timeout as it is collected.
        # Closing it at once costs nothing.
        def start(self, **kwargs):
            try:
                super().start(**kwargs)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.close()
                raise

    try:
        return _Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"Dask scheduler {scheduler!r}: cannot connect within {timeout_s:g} s "
            f"({_first_line(exc)}); expected the address of a running scheduler, "
            "such as tcp://127.0.0.1:8786"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ExecutorError(
            f"Dask scheduler {scheduler!r}: Dask cannot use this address "
            f"({_first_line(exc)}); {_SCHEDULER_EXPECTED}"
        ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
    *,
    runs: int,
    simulator_cpu_s: float,
    started: datetime,
    finished: datetime,
    wall_s: float,
    jobs: int,
    scheduler: str | None = None,
    computed: int | None = None,
    reused: int = 0,
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
        "runs": runs,
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
        "simulator_cpu_s": round(simulator_cpu_s, 3),
        "executor": "dask" if scheduler is not None else "local",
        "scheduler": scheduler,
        "jobs": jobs,
        # this invocation's runs: computed now, or read back from .runs/
        "runs_computed": runs if computed is None else computed,
        "runs_reused": reused,
    }


def run_sweep(
    sweep: Sweep,
    jobs: int = 1,
    on_done: Callable[[Task, RunResult], None] | None = None,
    *,
    folder: Path | None = None,
    scheduler: str | None = None,
    planned: Plan | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Run ``sweep``; returns its runs and its manifest.

    Each run is recorded in ``folder``'s :class:`RunStore` as it finishes,
    and runs already recorded there for this sweep are not run again, so a
    sweep that was killed continues where it stopped. Without ``folder`` the
    records go to a temporary folder, deleted on return. ``planned`` is the
    :func:`plan` of ``folder`` if the caller has made it already. Runs go to
    the Dask scheduler at ``scheduler`` if given, else to ``jobs`` local
    processes. Only the records are written here, not the results files.
    """
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="pollpush-sweep-") as tmp:
            return run_sweep(
                sweep, jobs, on_done, folder=Path(tmp), scheduler=scheduler
            )

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    store = RunStore(folder)
    store.open()
    planned = planned if planned is not None else plan(sweep, folder)
    every = list(planned.tasks)
    for i, result in _results(sweep, every, planned.todo, jobs, scheduler):
        store.save(every[i], planned.keys[i], result)
        if on_done:
            on_done(every[i], result)
    wall_s = time.perf_counter() - clock
    finished = datetime.now(timezone.utc)

    runs, simulator_cpu_s = _stored_runs(sweep, store, planned)
    info = manifest(
        sweep,
        runs=len(runs),
        simulator_cpu_s=simulator_cpu_s,
        started=started,
        finished=finished,
        wall_s=wall_s,
        jobs=jobs,
        scheduler=scheduler,
        computed=len(planned.todo),
        reused=planned.reused,
    )
    return runs, info


def _stored_runs(
    sweep: Sweep, store: RunStore, planned: Plan
) -> tuple[pd.DataFrame, float]:
    """The runs frame, read back from the records, and the simulator time
    they took when they were computed."""
    rows, cpu_s = [], 0.0
    for task, key in zip(planned.tasks, planned.keys):
        record = store.load(task)
        if record is None or record[0] != key:
            raise ResultsError(
                f"{store.path(task)}: missing or changed while the sweep ran; "
                "expected the record just written (is another sweep writing "
                "to this folder?)"
            )
        result = record[1]
        cpu_s += result.wall_s
        rows.append({"point": task.point, **sweep.points[task.point], **result.row()})
    return pd.DataFrame(rows), cpu_s


# -- the run store -------------------------------------------------------------


class RunStore:
    """Finished runs, one small JSON file each, under ``<results>/.runs/``.

    One file per run, written through :func:`write_atomic` (a temporary
    file, flushed to disk with fsync, then renamed), rather than one
    append-only log: a rename is atomic, so a sweep killed at any instant
    leaves each record either whole or absent (at worst a stray ``.tmp``
    file, removed on the next start), and there is no torn last line to
    detect and repair. Only the process that drives the sweep writes
    records, whatever the executor, so Dask workers need no access to the
    folder. The cost is one small file per run, which the file system
    handles well into the hundreds of thousands.

    Each record holds the key of its run (:func:`run_key`): a hash of the
    point's resolved scenario, the contents of the log files it reads, the
    strategy, the replication and the pollpush version. A record whose key
    differs from the sweep's is stale (the sweep file or a log it names
    changed) and its run is computed again.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder) / RUNS_STORE

    def path(self, task: Task) -> Path:
        return self.folder / (
            f"p{task.point:06d}-r{task.replication:04d}-{task.strategy}.json"
        )

    def open(self) -> None:
        """Create the store and remove temporary files a killed sweep left."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob(".*.tmp"):
            stray.unlink(missing_ok=True)

    def exists(self) -> bool:
        return self.folder.is_dir()

    def save(self, task: Task, key: str, result: RunResult) -> None:
        record = {"key": key, "result": asdict(result)}
        text = json.dumps(record, default=_plain)

        def write(path: Path) -> None:
            with open(path, "w") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())

        write_atomic(self.path(task), write)

    def load(self, task: Task) -> tuple[str, RunResult] | None:
        """The key and result recorded for ``task``, or None if there is no
        readable record."""
        try:
            record = json.loads(self.path(task).read_text())
            return record["key"], RunResult(**record["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _plain(value):
    # numpy scalars in a metrics row, as the JSON numbers they equal
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot record {value!r} ({type(value).__name__})")


def run_key(scenario, task: Task) -> str:
    """What a run's result depends on, hashed: the resolved scenario of its
    point, the contents of the log files it reads (:func:`log_files`), its
    strategy and replication, and the pollpush version."""
    identity = {
        "scenario": scenario.model_dump(mode="json"),
        "strategy": task.strategy,
        "replication": task.replication,
        "pollpush": sim.__version__,
    }
    # The scenario names each log by its path only: hash the bytes too, so
    # that an edited log means new runs. (Only when there are logs, so that
    # the keys of other scenarios, and the records that hold them, stay.)
    files = log_files(scenario)
    if files:
        identity["files"] = {str(path): file_digest(path) for path in files}
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """The SHA-256 of the bytes of ``path``, computed once per process for
    each path, modification time and size (a sweep asks once per run)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ScenarioError(str(path), [f"cannot be read: {exc.strerror}"]) from None
    return _file_digest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    # mtime_ns and size are in the key so that an edited file is read again
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise ScenarioError(path, [f"cannot be read: {exc.strerror}"]) from None
    return digest.hexdigest()


@dataclass(frozen=True)
class Plan:
    """Which runs of a sweep a results folder already holds.

    ``todo`` indexes :attr:`tasks`; ``stale`` counts records left by an
    earlier version of the sweep file (they are in ``todo``), ``unreadable``
    records that could not be read (also in ``todo``).
    """

    tasks: tuple[Task, ...]
    keys: tuple[str, ...]
    todo: tuple[int, ...]
    reused: int
    stale: int
    unreadable: int


def plan(sweep: Sweep, folder: Path) -> Plan:
    """Compare the records in ``folder`` with the runs ``sweep`` needs."""
    store = RunStore(folder)
    every = tasks(sweep)
    keys = [run_key(sweep.scenarios[t.point], t) for t in every]
    todo, stale, unreadable = [], 0, 0
    for i, (task, key) in enumerate(zip(every, keys)):
        if not store.path(task).exists():
            todo.append(i)
            continue
        record = store.load(task)
        if record is None:
            unreadable += 1
            todo.append(i)
        elif record[0] != key:
            stale += 1
            todo.append(i)
    return Plan(
        tasks=tuple(every),
        keys=tuple(keys),
        todo=tuple(todo),
        reused=len(every) - len(todo),
        stale=stale,
        unreadable=unreadable,
    )


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
