"""The ``bench`` command: the simulator's cost against its targets.

Registered on the main command group by :mod:`sim.cli`; like it, this module
prints. The measurements live in :mod:`sim.bench`.
"""

from __future__ import annotations

import json

import click

from sim import bench
from sim.bench import Target

GIB = 1024**3
FAST_RUNS, REFERENCE_RUNS = 5, 2
GROUP_NAMES = ("fleet", "ratio", "pollers", "push", "memory", "sweep")


@click.command("bench")
@click.option(
    "--quick",
    is_flag=True,
    help="Runs a tenth of the size (seconds, not minutes): the figures then "
    "are not at the targets' sizes, pass/fail holds for the smaller runs "
    "only, and the exit status does not depend on them.",
)
@click.option(
    "--skip",
    "skipped",
    multiple=True,
    type=click.Choice(list(GROUP_NAMES)),
    help="Leave out a group of measurements (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_command(quick: bool, skipped: tuple[str, ...], as_json: bool) -> None:
    """Measure the simulator against its speed and memory targets, in one
    run, and print a table with pass/fail. Exits 1 when a target is missed
    (at full size).

    \b
    fleet   10,000 consumers polling one shared queue every 100 ms for an
            hour at 10 events/s (360 million polls): CPU seconds
    ratio   100 consumers, one shared queue, every 1 s for 10,000 s at
            1 event/s: fast engine against the reference model (each
            engine's best of several runs)
    pollers polls accounted per CPU second for each polling strategy
    push    fan-out and broker deliveries per CPU second, and against a
            plain SimPy M/M/1 queue with as many customers
    memory  peak memory of a run of 10 million deliveries (100
            subscribers; about 190 bytes more per event published)
    sweep   a 40-run sweep on 2 processes against 1 (wall time)

    Times are this process's CPU time except for the sweep; on a busy
    machine they are worse than on an idle one.
    """
    if set(GROUP_NAMES) <= set(skipped):
        raise click.UsageError("every group is skipped: nothing to measure")
    scale = 0.1 if quick else 1.0
    targets: list[Target] = []
    pollers: dict[str, dict] = {}
    for group, (what, measure) in GROUPS.items():
        if group in skipped:
            continue
        if not as_json:
            click.echo(f"{group}: {what} ...", err=True)
        if group == "pollers":
            pollers = measure(scale)
        else:
            targets.extend(measure(scale))

    if as_json:
        click.echo(
            json.dumps(
                {
                    "quick": quick,
                    "targets": [{**t.__dict__, "passed": t.passed} for t in targets],
                    "pollers": pollers,
                }
            )
        )
    else:
        click.echo(_table(targets))
        if pollers:
            click.echo("\npolls accounted per CPU second (100 consumers, own queues):")
            for name, row in pollers.items():
                click.echo(
                    f"  {name:<15} fast {row['fast_polls_per_cpu_s']:>12,.0f}   "
                    f"reference {row['reference_polls_per_cpu_s']:>9,.0f}   "
                    f"({row['speedup']:,.1f}x, {row['polls']:,} polls, "
                    + ("identical)" if row["identical"] else "DIFFER)")
                )
        if quick:
            click.echo(
                "\n--quick: runs are a tenth of the targets' sizes; pass/fail "
                "is shown for the smaller runs only."
            )
    if not quick and not all(t.passed for t in targets):
        raise SystemExit(1)


def _fleet(scale: float) -> list[Target]:
    s = bench.fleet(duration_s=3600.0 * scale)
    outcome, cpu_s = bench.run_cpu_s(s)
    polls = outcome.counts["polls"]
    return [
        Target(
            f"10k consumers @100 ms, {_hours(3600.0 * scale)}, 10 ev/s",
            cpu_s,
            30.0 * scale,
            "CPU s",
            higher_is_better=False,
            detail=f"{polls:,} polls ({outcome.counts['empty_polls']:,} empty), "
            f"{polls / cpu_s:,.0f} polls/CPU s; one shared queue, fixed 2 ms delay",
        )
    ]


def _ratio(scale: float) -> list[Target]:
    duration = 10_000.0 * scale

    def best(engine: str, runs: int):
        # the fast run takes some 40 ms, where a moment of other work on the
        # machine shows: each engine's best of several runs (as timeit does)
        timed = [
            bench.run_cpu_s(
                bench.fleet(100, 1.0, duration, 1.0, engine, bench.NETWORK_FIXED)
            )
            for _ in range(runs)
        ]
        return timed[0][0], min(cpu_s for _, cpu_s in timed)

    fast, fast_s = best("fast", FAST_RUNS)
    reference, reference_s = best("reference", REFERENCE_RUNS)
    differ = bench.differences(fast, reference)
    return [
        Target(
            "fast/reference, 100 consumers @1 s"
            + ("" if scale == 1.0 else f", {duration:,.0f} s"),
            reference_s / fast_s if not differ else 0.0,
            100.0,
            "x",
            higher_is_better=True,
            detail=f"{reference_s:.2f} s / {fast_s * 1000:.1f} ms CPU (best of "
            f"{REFERENCE_RUNS} and {FAST_RUNS} runs), "
            f"{reference.counts['polls']:,} polls, results "
            + ("identical" if not differ else f"DIFFER in {', '.join(differ)}"),
        )
    ]


def _pollers(scale: float) -> dict[str, dict]:
    rows = {}
    for name in bench.POLLERS:
        duration = 10_000.0 * scale
        fast, fast_s = bench.run_cpu_s(bench.pollers(name, "fast", duration_s=duration))
        reference, reference_s = bench.run_cpu_s(
            bench.pollers(name, "reference", duration_s=duration)
        )
        rows[name] = {
            "fast_polls_per_cpu_s": fast.counts["polls"] / fast_s,
            "reference_polls_per_cpu_s": reference.counts["polls"] / reference_s,
            "speedup": reference_s / fast_s,
            "polls": fast.counts["polls"],
            "identical": not bench.differences(fast, reference),
        }
    return rows


def _push(scale: float) -> list[Target]:
    deliveries = int(200_000 * scale)
    _, mm1_s = bench.timed(lambda: bench.mm1_customers(deliveries))
    mm1_rate = deliveries / mm1_s
    targets = []
    for kind in ("fanout", "broker"):
        outcome, cpu_s = bench.run_cpu_s(bench.push(kind, deliveries))
        rate = bench.delivered(outcome) / cpu_s
        targets.append(
            Target(
                f"{kind} deliveries per CPU s",
                rate,
                100_000.0,
                "/s",
                higher_is_better=True,
                detail=f"{bench.delivered(outcome):,} deliveries in {cpu_s:.2f} s",
            )
        )
        targets.append(
            Target(
                f"{kind} against plain SimPy M/M/1",
                rate / mm1_rate,
                0.8,
                "x",
                higher_is_better=True,
                detail=f"M/M/1: {mm1_rate:,.0f} customers/s, same number",
            )
        )
    return targets


def _memory(scale: float) -> list[Target]:
    made, peak = bench.peak_memory(int(10_000_000 * scale))
    return [
        Target(
            f"peak memory, {_millions(10_000_000 * scale)} deliveries",
            peak / GIB,
            1.0,
            "GiB",
            higher_is_better=False,
            detail=f"{made:,} deliveries, fresh process, interpreter included",
        )
    ]


def _sweep(scale: float) -> list[Target]:
    runs = 40 if scale == 1.0 else 8
    sweep = bench.sweep_of(runs, duration_s=100.0 * scale)
    one = bench.sweep_wall_s(sweep, 1)
    two = bench.sweep_wall_s(sweep, 2)
    return [
        Target(
            f"{runs}-run sweep, 2 processes vs 1",
            one / two,
            1.8,
            "x",
            higher_is_better=True,
            detail=f"{one:.1f} s / {two:.1f} s wall; "
            "other work on the machine lowers it",
        )
    ]


def _table(targets: list[Target]) -> str:
    def number(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"

    rows = [("target", "measured", "goal", "result")]
    for t in targets:
        goal = (">= " if t.higher_is_better else "< ") + number(t.target)
        rows.append(
            (
                t.name,
                f"{number(t.measured)} {t.unit}",
                f"{goal} {t.unit}",
                "pass" if t.passed else "FAIL",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
        elif targets[n - 1].detail:
            lines.append(f"    {targets[n - 1].detail}")
    return "\n".join(lines)


def _hours(seconds: float) -> str:
    return "1 h" if seconds == 3600.0 else f"{seconds / 60:g} min"


def _millions(count: float) -> str:
    return f"{count / 1e6:g}M"


# each group of measurements: what it measures, and how
GROUPS = {
    "fleet": ("10,000 competing consumers", _fleet),
    "ratio": ("fast engine against the reference model", _ratio),
    "pollers": ("polls accounted per CPU second", _pollers),
    "push": ("deliveries per CPU second, and a plain M/M/1", _push),
    "memory": ("many deliveries in a fresh process", _memory),
    "sweep": ("one sweep on 1 then 2 processes", _sweep),
}
