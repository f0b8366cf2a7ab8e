"""The ``report`` command: one self-contained HTML page of a results folder.

Registered on the main command group by :mod:`sim.cli`; like it, this module
prints. The page itself is built by :mod:`sim.report`.
"""

from __future__ import annotations

from pathlib import Path

import click

from sim.errors import ResultsError


@click.command("report")
@click.argument("folder", metavar="DIR", type=click.Path())
def report(folder: str) -> None:
    """Write DIR/report.html from the results folder DIR: when polling pays,
    in sentences computed from the runs, the charts, the best strategy at
    each point, the crossovers, the summary with 95% intervals, the
    scenario and the manifest.

    The page embeds everything it shows (images, style; no scripts, fonts
    or links), so it opens offline. A sweep writes it as its last step.
    """
    from sim.report import write_report

    expected = "expected a results folder written by python -m sim sweep"
    if not folder.strip():
        raise ResultsError(f"no folder named; {expected}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder}: not a folder; {expected}")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such folder; {expected}")
    click.echo(f"  {write_report(folder)}")
