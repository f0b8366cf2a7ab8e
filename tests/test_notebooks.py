"""Every notebook runs top to bottom against the installed package."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_error(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        f"{path.name} is stored with outputs; clear them"
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    # every cell that draws shows its chart as an image
    drawing = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and ("plt.show()" in c.source or "png(" in c.source)
    ]
    assert drawing, f"{path.name} draws no chart"
    for cell in drawing:
        kinds = {k for o in cell.get("outputs", []) for k in o.get("data", {})}
        assert "image/png" in kinds, (path.name, cell.source[:80], kinds)
