"""Command line: the only module that prints, reads argv or writes files for
the user.

Bad input (a missing or invalid scenario, an unknown strategy, a folder that
holds no results) is reported in one message on stderr with exit status 2
and no traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

import click

from sim import __version__
from sim.errors import PollpushError, ResultsError

RESULTS_ROOT = Path("results")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pollpush")
def cli() -> None:
    """Compare how services learn that something happened: short polling,
    long polling, direct fan-out and brokered push, by the CPU, bytes,
    requests and reaction latency each costs.

    \b
    Start with the bundled sweep:
        python -m sim sweep
    then open results/<sweep name>/report.html, or look at its charts/*.png
    and summary.csv.
    Scenario keys: README "Scenarios"; metric names: python -m sim metrics.
    """


@cli.command("run")
@click.argument("scenario", metavar="SCENARIO")
@click.option(
    "--strategy",
    "strategy_name",
    metavar="NAME",
    help="Run only this strategy (default: all of the scenario's).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    metavar="N",
    help="Use this seed instead of the scenario's.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object per strategy, one per line.",
)
def run_command(
    scenario: str, strategy_name: str | None, seed: int | None, as_json: bool
) -> None:
    """Run one replication of SCENARIO (a TOML file or a bundled name) and
    print its metrics."""
    from sim.run import run
    from sim.scenario import load_scenario

    loaded = load_scenario(scenario)
    if seed is not None:
        simulation = loaded.simulation.model_copy(update={"seed": seed})
        loaded = loaded.model_copy(update={"simulation": simulation})
    if strategy_name is not None:
        try:
            loaded.strategy(strategy_name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--strategy") from None
        names = [strategy_name]
    else:
        names = [s.name for s in loaded.strategies]

    results = [run(loaded, name, 0) for name in names]
    if as_json:
        for r in results:
            row = {"scenario": r.scenario, **r.row()}
            click.echo(json.dumps({k: _json_value(v) for k, v in row.items()}))
        return
    click.echo(_table(results))


@cli.command("sweep")
@click.argument("sweep_file", metavar="[SWEEP]", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder (default: results/<sweep name>/ under the current folder).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel processes (default: all cores; local executor only).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where runs go: a local process pool, or a Dask cluster.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a sweep that stopped: refuse if the folder holds no run of it.",
)
def sweep_command(
    sweep_file: str | None,
    out: Path | None,
    jobs: int | None,
    executor: str,
    scheduler: str | None,
    resume: bool,
) -> None:
    """Run every point x strategy x replication of SWEEP (a TOML file or a
    bundled name; default: the bundled default sweep) and write runs.parquet,
    summary.csv, crossovers.csv, charts/*.png, manifest.json, then
    report.html (see the report command).

    A sweep file is a scenario plus a [sweep] table whose 'axes' map dotted
    parameter paths to lists of values; the sweep runs their full grid:

    \b
        [sweep]
        name = "rates"
        [sweep.axes]
        "workload.arrivals.rate_per_s" = [0.1, 1, 10]
        "strategies.poll_1s.interval_s" = [0.5, 1, 2]

    Each run is recorded in DIR/.runs/ as it finishes. Running a sweep into
    a folder that holds records (with or without --resume) computes only the
    runs it lacks; records of a changed sweep file are computed again.
    """
    from tqdm import tqdm

    from sim.report import write_report
    from sim.scenario import load_sweep
    from sim.sweep import (
        RUNS_STORE,
        RunStore,
        check_scheduler,
        plan,
        run_sweep,
        write_results,
    )

    if executor == "dask" and not scheduler:
        raise click.UsageError(
            "--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)"
        )
    if executor == "local" and scheduler:
        raise click.UsageError("--scheduler is only for --executor dask")
    if scheduler:
        # a malformed address is refused before the results folder is made
        check_scheduler(scheduler)

    sweep = load_sweep(sweep_file)
    folder = out if out is not None else RESULTS_ROOT / sweep.name
    if resume and not RunStore(folder).exists():
        raise ResultsError(
            f"{folder}: nothing to resume (no {RUNS_STORE}/ folder of finished "
            "runs); expected the --out folder of an earlier run of this sweep"
        )
    _prepare_folder(folder)
    planned = plan(sweep, folder)
    if resume and not (planned.reused or planned.stale or planned.unreadable):
        # an empty store, as a sweep that failed before its first run leaves
        raise ResultsError(
            f"{folder}: nothing to resume ({RUNS_STORE}/ holds no finished run "
            "of this sweep); expected the --out folder of an earlier run of it, "
            "or no --resume to start afresh"
        )
    total = len(planned.tasks)
    jobs = min(jobs or os.cpu_count() or 1, max(len(planned.todo), 1))
    where = (
        f"on Dask scheduler {scheduler}"
        if executor == "dask"
        else f"on {_count(jobs, 'process', 'processes')}"
    )
    reps = sweep.base.simulation.replications
    click.echo(
        f"sweep {sweep.name}: {_count(len(sweep.points), 'point')} x "
        f"{_count(len(sweep.base.strategies), 'strategy', 'strategies')} x "
        f"{_count(reps, 'replication')} = {_count(total, 'run')} {where}",
        err=True,
    )
    if planned.reused:
        click.echo(
            f"resuming: {planned.reused} of {_count(total, 'run')} already "
            f"recorded in {folder / RUNS_STORE}/ are reused",
            err=True,
        )
    if planned.stale:
        click.echo(
            f"{_count(planned.stale, 'recorded run')} no longer "
            f"{'matches' if planned.stale == 1 else 'match'} the sweep file "
            "(its scenario, or a log file it reads, changed): computing them again",
            err=True,
        )
    if planned.unreadable:
        click.echo(
            f"{_count(planned.unreadable, 'recorded run')} could not be read: "
            "computing them again",
            err=True,
        )
    # disable=None: a bar on a terminal, silence in a log file
    with tqdm(
        total=total, initial=planned.reused, unit="run", disable=None, file=sys.stderr
    ) as bar:
        runs, info = run_sweep(
            sweep,
            jobs,
            on_done=lambda *_: bar.update(),
            folder=folder,
            scheduler=scheduler if executor == "dask" else None,
            planned=planned,
        )

    axes = list(sweep.axes)
    info = write_results(folder, runs, info, lambda f: _write_charts(f, runs, axes))
    click.echo(
        f"wrote {folder}/ in {info['wall_s']:.1f} s "
        f"({info['runs_computed']} runs computed, {info['runs_reused']} reused):"
    )
    for name in info["files"]:
        click.echo(f"  {folder / name}")
    # the report reads the folder just written, manifest included
    click.echo(f"  {write_report(folder)}")


@cli.command("charts")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
def charts_command(folder: Path) -> None:
    """Redraw the charts of the results folder DIR from its runs.parquet."""
    from sim.sweep import read_results

    runs, info = read_results(folder)
    for name in _write_charts(folder, runs, list(info["axes"])):
        click.echo(f"  {folder / name}")


@cli.command("metrics")
def metrics_command() -> None:
    """List every metric a run reports, with its unit and meaning."""
    from sim.metrics import METRICS

    width = max(len(m.name) for m in METRICS)
    for m in METRICS:
        click.echo(
            f"{m.name.ljust(width)}  {(m.unit or '-').ljust(11)} {m.description}"
        )


def _write_charts(folder: Path, runs, axes: list[str]) -> list[str]:
    from sim.charts import DPI, figures
    from sim.summary import summarise
    from sim.sweep import write_atomic

    charts = folder / "charts"
    try:
        charts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(
            f"{charts}: cannot hold the charts ({exc.strerror}); expected a folder"
        ) from None
    names = []
    for stem, fig in figures(summarise(runs, axes), axes, runs).items():
        name = f"charts/{stem}.png"
        write_atomic(
            folder / name, lambda p, f=fig: f.savefig(p, format="png", dpi=DPI)
        )
        names.append(name)
    return names


def _prepare_folder(folder: Path) -> None:
    """Create the results folder and prove it writable before any run starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except FileExistsError:
        raise ResultsError(
            f"{folder}: exists and is not a folder; --out must name a folder"
        ) from None
    except OSError as exc:
        raise ResultsError(
            f"{folder}: cannot write results here ({exc.strerror}); "
            "choose another --out"
        ) from None


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _table(results) -> str:
    from sim.metrics import METRICS

    names = [r.strategy for r in results]
    width = max(len(m.name) for m in METRICS) + 2
    cols = [max(12, len(n) + 2) for n in names]
    lines = ["".ljust(width) + "".join(n.rjust(c) for n, c in zip(names, cols))]
    for m in METRICS:
        cells = [_fmt(r.metrics[m.name]).rjust(c) for r, c in zip(results, cols)]
        lines.append(m.name.ljust(width) + "".join(cells))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _json_value(value):
    # JSON has no NaN: an undefined metric is written as null
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _register_commands() -> None:
    from sim.cli_bench import bench_command
    from sim.cli_envelope import envelope
    from sim.cli_live import calibrate, compare, live
    from sim.cli_report import report
    from sim.cli_validate import validate

    cli.add_command(envelope)
    cli.add_command(validate)
    cli.add_command(live)
    cli.add_command(calibrate)
    cli.add_command(compare)
    cli.add_command(report)
    cli.add_command(bench_command)


_register_commands()


def main() -> None:
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except PollpushError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
