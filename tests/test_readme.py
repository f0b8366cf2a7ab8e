"""The README's scenario example is a valid sweep file."""

import re
from pathlib import Path

from sim.scenario import load_sweep

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_scenario_example_loads(tmp_path):
    text = README.read_text()
    section = text[text.index("## Scenarios") :]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "orders.toml"
    path.write_text(example)
    sweep = load_sweep(path)
    assert sweep.name == "orders-rates"
    assert len(sweep.points) == 4 * 3
    assert {s.kind for s in sweep.base.strategies} == {
        "short_poll",
        "long_poll",
        "fanout",
        "broker",
        "request_reply",
    }


def test_the_readme_envelope_example_runs():
    text = README.read_text()
    section = text[text.index("## Envelopes") :]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(example, "README.md", "exec"), {})
