"""Errors the simulator raises for bad input.

Every message names where the problem is (a file, a dotted field path), the
value that was given and what would have been valid, so that the command line
can print it as it is and exit without a traceback.
"""

from __future__ import annotations


class PollpushError(Exception):
    """Base class of every error this package raises on purpose."""


class ScenarioError(PollpushError, ValueError):
    """A scenario or sweep file that cannot be read or is not valid."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        lines = [f"{self.source}: {len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ResultsError(PollpushError):
    """A results folder that is missing files or does not hold a sweep."""


class RunTooLarge(PollpushError):
    """A run that grew past what the simulator will do in one go."""
