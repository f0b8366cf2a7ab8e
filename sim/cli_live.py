"""The ``live``, ``calibrate`` and ``compare`` commands: the simulator
against this machine.

Registered on the main command group by :mod:`sim.cli`; like it, this module
prints and writes files. The runs themselves live in :mod:`sim.live`.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import pandas as pd

from sim.cli import RESULTS_ROOT, _prepare_folder, _table, _write_charts

PROFILE_FILE = "profile.toml"
COMPARE_CSV = "compare.csv"
COMPARE_PNG = "compare.png"


class _Finite(click.FloatRange):
    """A float range that also refuses nan and infinities (a nan compares
    false with both bounds, so a plain range lets it through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class _OutPath(click.Path):
    """A path that is not empty (an empty --out would mean the current
    folder, which nobody means)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path; give a file or folder name.", param, ctx)
        return super().convert(value, param, ctx)


_scenario = click.argument("scenario", metavar="SCENARIO")
_strategy = click.option(
    "--strategy",
    "strategy_name",
    metavar="NAME",
    help="Run only this strategy (default: all of the scenario's).",
)
_duration = click.option(
    "--duration",
    "duration_s",
    type=_Finite(min=0.5, max=600),
    metavar="S",
    help="Real seconds of publishing (default: the scenario's live.duration_s, 5).",
)
_out = click.option(
    "--out",
    type=_OutPath(file_okay=False, path_type=Path),
    help="Results folder.",
)


@click.command("live")
@_scenario
@_strategy
@_duration
@_out
def live(
    scenario: str, strategy_name: str | None, duration_s: float | None, out: Path | None
) -> None:
    """Run SCENARIO for real on 127.0.0.1 and measure it: publisher,
    consumers and subscribers as separate processes, HTTP polling and
    fan-out, RabbitMQ or Redis for brokered strategies. Writes the files of a
    simulated sweep (runs.parquet, summary.csv, charts/, manifest.json)
    to DIR (default results/live-<scenario>/) and prints the metrics.

    The scenario is cut to live size first (a few seconds, at most
    live.max_subscribers subscribers); what was cut is printed.
    """
    from sim.live import check_brokers, plan_live

    plan = plan_live(scenario, strategy_name, duration_s)
    folder = out if out is not None else RESULTS_ROOT / f"live-{plan.scenario.name}"
    with _removed_if_left_empty(folder):
        _prepare_folder(folder)
        check_brokers(plan)
        _say_plan(plan)
        started = time.time()
        runs = _run_all(plan)
    _write_live(folder, plan, runs, "live", started)
    click.echo(_table([r.result for r in runs]))
    click.echo(f"wrote {folder}/")


@click.command("calibrate")
@click.option(
    "--out",
    type=_OutPath(dir_okay=False, path_type=Path),
    default=RESULTS_ROOT / "calibration" / PROFILE_FILE,
    show_default=True,
    help="Where to write the cost profile (TOML).",
)
@click.option(
    "--requests",
    type=click.IntRange(min=100, max=100_000),
    default=500,
    show_default=True,
    help="HTTP requests to time.",
)
@click.option(
    "--gap-ms",
    type=_Finite(min=0, max=1000),
    default=20.0,
    show_default=True,
    help="Pause between requests; 0 times them back to back.",
)
def calibrate(out: Path, requests: int, gap_ms: float) -> None:
    """Measure CPU per HTTP request sent and handled, per KiB of JSON
    written and read, and per envelope inspected, on this machine, and
    write a cost profile a scenario loads with [costs] profile = "FILE".

    Requests are timed GAP_MS apart, as sparse events reach a service
    (each finds the process idle and its caches cold); the back-to-back
    figures are written too, for reference. Takes about
    REQUESTS x GAP_MS plus a few seconds."""
    _check_profile_out(out)
    profile = _calibrate(requests, gap_ms / 1000)
    _write_profile(out, profile)
    for table in ("costs", "costs_back_to_back", "network", "envelopes"):
        for key, value in profile[table].items():
            click.echo(f"{table}.{key} = {value:.4g}")
    click.echo(f"wrote {out}")


@click.command("compare")
@_scenario
@_strategy
@_duration
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Cost profile for the prediction (default: calibrate now, into DIR).",
)
@_out
def compare(
    scenario: str,
    strategy_name: str | None,
    duration_s: float | None,
    profile: Path | None,
    out: Path | None,
) -> None:
    """Run SCENARIO live and simulated (with a calibrated cost profile) and
    print, per strategy and metric, predicted, measured, their ratio and
    the target. Writes DIR/compare.csv, DIR/compare.png, and the results
    folders DIR/live/ and DIR/simulated/ (default DIR:
    results/compare-<scenario>/)."""
    from sim.live import check_brokers, plan_live
    from sim.live.compare import comparison_figure, comparison_table
    from sim.run import run
    from sim.scenario import Costs, read_cost_profile
    from sim.sweep import write_atomic

    plan = plan_live(scenario, strategy_name, duration_s)
    folder = out if out is not None else RESULTS_ROOT / f"compare-{plan.scenario.name}"
    with _removed_if_left_empty(folder):
        _prepare_folder(folder)
        if profile is None:
            _check_profile_out(folder / PROFILE_FILE)
        else:
            _profile_figures(profile, read_cost_profile)  # refused before any run
        check_brokers(plan)
        if profile is None:
            click.echo("calibrating (no --profile given) ...", err=True)
            profile = folder / PROFILE_FILE
            _write_profile(profile, _calibrate(500, 0.02))
        figures = _profile_figures(profile, read_cost_profile)
        costs = Costs(**figures["costs"], profile=str(profile.resolve()))
        predicted_scenario = plan.scenario.model_copy(update={"costs": costs})
        timer_s = figures["timer_resolution_s"]

        _say_plan(plan)
        started = time.time()
        lives = _run_all(plan)
    predicted = [run(predicted_scenario, name, 0) for name in plan.strategies]
    _write_live(folder / "live", plan, lives, "live", started)
    _write_live(
        folder / "simulated",
        plan,
        predicted,
        "simulated",
        started,
        scenario=predicted_scenario,
    )

    table = comparison_table(
        [
            (live.result.strategy, live.transport, sim.metrics, live.result.metrics)
            for live, sim in zip(lives, predicted)
        ],
        timer_resolution_s=timer_s,
    )
    write_atomic(folder / COMPARE_CSV, lambda p: table.to_csv(p, index=False))
    fig = comparison_figure(table)
    write_atomic(folder / COMPARE_PNG, lambda p: fig.savefig(p, format="png", dpi=110))
    click.echo(_comparison_text(table))
    missed = int((~table["met"]).sum())
    click.echo(
        f"{len(table) - missed} of {len(table)} figures within target "
        f"(timer resolution {timer_s * 1e3:.2g} ms; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)"
    )
    for name in (COMPARE_CSV, COMPARE_PNG, "live/", "simulated/"):
        click.echo(f"  {folder / name}")


@contextlib.contextmanager
def _removed_if_left_empty(folder: Path):
    """Remove ``folder`` again if this command created it and fails (or is
    interrupted) before writing anything into it."""
    existed = folder.exists()
    try:
        yield
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _calibrate(requests: int, gap_s: float) -> dict:
    from sim.live.calibrate import calibrate as measure

    return measure(requests, gap_s)


def _check_profile_out(path: Path) -> None:
    """Refuse, before anything is measured, a profile path that cannot or
    must not be written: the file is written beside itself and renamed over
    the path, which would replace a device, a pipe or a socket with an
    ordinary file."""
    from sim.errors import ResultsError

    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise ResultsError(
            f"{path}: is {kind}; --out must name a regular file (new or to replace)"
        )
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ResultsError(
                    f"{path}: {folder} is not a folder; --out must name a file in one"
                )
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ResultsError(
            f"{path}: cannot write the profile here ({exc.strerror}); "
            "choose another --out"
        ) from None


def _write_profile(path: Path, profile: dict) -> None:
    from sim.errors import ResultsError
    from sim.live.calibrate import profile_toml
    from sim.sweep import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda p: p.write_text(profile_toml(profile)))
    except OSError as exc:
        raise ResultsError(
            f"{path}: cannot write the profile ({exc.strerror})"
        ) from None


def _profile_figures(path: Path, read_costs) -> dict:
    """The profile's costs (validated) and its timer resolution (0 if absent)."""
    import tomllib

    from sim.errors import ScenarioError

    try:
        costs = read_costs(path)
    except ValueError as exc:
        raise ScenarioError("--profile", [str(exc)]) from None
    network = tomllib.loads(path.read_text(encoding="utf-8")).get("network", {})
    timer = network.get("timer_resolution_s", 0.0)
    if not isinstance(timer, (int, float)) or not 0 <= timer < 1:
        raise ScenarioError(
            "--profile",
            [
                f"profile {str(path)!r}: network.timer_resolution_s: got {timer!r}; "
                "expected seconds in [0, 1)"
            ],
        )
    return {"costs": costs, "timer_resolution_s": float(timer)}


def _say_plan(plan) -> None:
    from sim.live.plan import describe_bounds

    for line in plan.scaled:
        click.echo(f"scaled for a live run: {line}", err=True)
    click.echo(f"live run: {describe_bounds(plan)}", err=True)


def _run_all(plan) -> list:
    from sim.live import run_live

    runs = []
    for name in plan.strategies:
        click.echo(f"  {name} ({plan.transports[name]}) ...", err=True)
        done = run_live(plan, name)
        for note in done.notes:
            click.echo(f"  {name}: {note}", err=True)
        runs.append(done)
    return runs


def _write_live(
    folder: Path, plan, runs, mode: str, started: float, scenario=None
) -> None:
    """A results folder like a one-point sweep's, so charts and summaries
    read it; the manifest says how the run was made and what was cut, and
    holds ``scenario`` (default: the plan's), the one the runs used."""
    from sim.sweep import write_results

    results = [getattr(r, "result", r) for r in runs]
    frame = pd.DataFrame([{"point": 0, **r.row()} for r in results])
    info = {
        "sweep": f"{mode}-{plan.scenario.name}",
        "source": plan.source,
        "mode": mode,
        "axes": {},
        "points": 1,
        "strategies": list(plan.strategies),
        "replications": 1,
        "runs": len(results),
        "transports": plan.transports,
        "scaled": list(plan.scaled),
        "notes": {
            getattr(r, "result", r).strategy: list(getattr(r, "notes", ()))
            for r in runs
        },
        "scenario": (scenario or plan.scenario).model_dump(mode="json"),
        "software": {"python": sys.version.split()[0], "platform": platform.platform()},
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(
            timespec="seconds"
        ),
        "wall_s": round(sum(r.wall_s for r in results), 3),
        "load_average": list(os.getloadavg()),
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_results(folder, frame, info, lambda f: _write_charts(f, frame, []))


def _comparison_text(table: pd.DataFrame) -> str:
    header = (
        "strategy",
        "transport",
        "metric",
        "predicted",
        "measured",
        "ratio",
        "target",
        "",
    )
    rows = [header]
    for r in table.itertuples():
        rows.append(
            (
                r.strategy,
                r.transport,
                r.metric,
                _num(r.predicted),
                _num(r.measured),
                "-" if math.isnan(r.ratio) else f"{r.ratio:.2f}",
                r.target,
                "ok" if r.met else "MISS",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < 3 or i >= 6 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    )


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "-" if math.isnan(value) else str(value)
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.3g}"
