"""The ``validate`` command: the simulator against closed forms.

Registered on the main command group by :mod:`sim.cli`; like it, this module
prints. The checks themselves live in :mod:`sim.validate`.
"""

from __future__ import annotations

import click

from sim.validate import (
    CHECKS,
    DEFAULT_SEED,
    FAMILY_CONFIDENCE,
    CheckResult,
    confidence_per_check,
    run_checks,
    select_checks,
)


@click.command("validate")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    metavar="N",
    help="Seed of every simulation and random draw.",
)
@click.option(
    "--only",
    metavar="SUBSTRING",
    help="Run only the checks whose name contains SUBSTRING.",
)
@click.pass_context
def validate(ctx: click.Context, seed: int, only: str | None) -> None:
    """Check the simulator against closed forms: polling by one consumer
    and by consumers sharing a queue, long polling, push into M/M/1, M/D/1
    and M/M/c subscribers, and the delays of each retry backoff.

    Prints each check's closed form, expected value, simulated estimate
    with its confidence interval, and PASS or FAIL; exits with status 1 if
    any check fails. Each interval is wide enough that a correct model
    passes all checks together with 99% probability (Bonferroni).
    """
    try:
        chosen = select_checks(only)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None

    level = confidence_per_check(len(CHECKS))
    click.echo(
        f"{len(chosen)} check{'s' if len(chosen) != 1 else ''}, seed {seed}; "
        f"each interval {level:.3%} confidence, so that all {len(CHECKS)} hold "
        f"together with {FAMILY_CONFIDENCE:.0%}\n"
    )
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for result in run_checks(seed, only):
        status = _status(result)
        counts[status] += 1
        click.echo(_describe(result, status))

    click.echo(
        f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
    )
    if counts["FAIL"]:
        ctx.exit(1)


def _status(result: CheckResult) -> str:
    if result.passed is None:
        return "SKIP"
    return "PASS" if result.passed else "FAIL"


def _describe(result: CheckResult, status: str) -> str:
    lines = [f"{status}  {result.name}", f"      closed form  {result.formula}"]
    if result.skipped is not None:
        lines.append(f"      skipped      {result.skipped}")
    else:
        lines += [
            f"      expected     {result.expected:.5g}",
            f"      simulated    {result.estimate:.5g}  "
            f"[{result.ci_low:.5g}, {result.ci_high:.5g}]  "
            f"({result.method}, n = {result.n:,})",
        ]
    return "\n".join(lines) + "\n"
