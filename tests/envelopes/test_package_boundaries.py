"""The envelope package stands alone and stays quiet."""

from __future__ import annotations

import ast
from pathlib import Path

import sim.envelopes

PACKAGE = Path(sim.envelopes.__file__).parent


def modules():
    return sorted(PACKAGE.glob("*.py"))


def test_envelope_package_imports_nothing_else_from_sim():
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("sim") or name.startswith("sim.envelopes"), (
                    f"{path.name} imports {name}"
                )


def test_library_code_never_prints():
    for path in modules():
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"
        ]
        assert calls == [], path.name


def test_public_names_have_docstrings():
    for name in sim.envelopes.__all__:
        value = getattr(sim.envelopes, name)
        if callable(value) and not isinstance(value, type(sim.envelopes.ABSENT)):
            assert value.__doc__, name
