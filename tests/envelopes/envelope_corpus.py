"""Shared helpers for the envelope tests: the fixture corpus on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Fixture:
    """One body from the corpus, its headers (if any) and what it must give."""

    name: str
    body: bytes
    headers: dict[str, str] | None
    expect: dict

    def __str__(self) -> str:
        return self.name


def load_corpus() -> list[Fixture]:
    fixtures = []
    for body_path in sorted(FIXTURES.glob("*/*.body")):
        stem = body_path.with_suffix("")
        headers_path = stem.with_suffix(".headers.json")
        fixtures.append(
            Fixture(
                name=f"{body_path.parent.name}/{stem.name}",
                body=body_path.read_bytes(),
                headers=json.loads(headers_path.read_text())
                if headers_path.exists()
                else None,
                expect=json.loads(stem.with_suffix(".expect.json").read_text()),
            )
        )
    return fixtures


CORPUS = load_corpus()
VALID = [f for f in CORPUS if "error" not in f.expect]
