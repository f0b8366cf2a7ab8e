"""``pollpush envelope FILE [--headers FILE]``: show what an envelope holds.

Prints the detected format, routing fields, format fields and extensions as
JSON, or the library's error on stderr with exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sim.envelopes import ABSENT, Batch, EnvelopeError, parse


def _read_headers(path: Path) -> dict[str, str]:
    # Either a JSON object of name -> value, or "Name: value" lines.  A name
    # given twice is refused, as HTTP servers hand them on joined or not at
    # all; which one was meant is not for this tool to guess.
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(
            f"{path}: expected UTF-8 text, got byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start}",
            param_hint="--headers",
        ) from None
    if text.lstrip().startswith("{"):
        try:
            pairs = json.loads(text, object_pairs_hook=list)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(
                f"{path}: expected a JSON object, got {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})",
                param_hint="--headers",
            ) from None
        if not isinstance(pairs, list) or not all(isinstance(v, str) for _, v in pairs):
            raise click.BadParameter(
                f"{path}: expected an object of string values",
                param_hint="--headers",
            )
        return _once(path, ((name, value, None) for name, value in pairs))
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"{path}: line {number}: expected 'Name: value', got {line!r}",
                param_hint="--headers",
            )
        lines.append((name.strip(), value.strip(), number))
    return _once(path, lines)


def _once(path: Path, entries) -> dict[str, str]:
    headers: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, value, number in entries:
        key = name.lower()
        if key in seen:
            where = f"line {number}: " if number else ""
            raise click.BadParameter(
                f"{path}: {where}expected each header once, got {name!r} "
                f"after {seen[key]!r} (names ignore case)",
                param_hint="--headers",
            )
        seen[key] = name
        headers[name] = value
    return headers


def _jsonable(value: Any) -> Any:
    # Absent members are left out so that they stay distinct from null.
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@click.command("envelope")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--headers",
    "headers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="HTTP headers: a JSON object or 'Name: value' lines.",
)
def envelope(file: Path, headers_file: Path | None) -> None:
    """Detect the envelope format of FILE and print its fields as JSON."""
    headers = _read_headers(headers_file) if headers_file else None
    try:
        parsed = parse(file.read_bytes(), headers)
        summary = parsed.summary()
        if not isinstance(parsed, Batch):
            summary["batch"] = False
    except EnvelopeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(2) from None
    click.echo(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False))
