"""The example at the top of docs/envelopes.md runs and prints what it says."""

from __future__ import annotations

from pathlib import Path


def test_the_example_in_the_docs_runs(capsys):
    docs = Path(__file__).resolve().parents[2] / "docs" / "envelopes.md"
    text = docs.read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, str(docs), "exec"), {})
    assert capsys.readouterr().out == "400: json.duplicate-key at #/id\n"
