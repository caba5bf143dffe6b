from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demos" / "heatmap_demo.ipynb"


@pytest.mark.slow
def test_heatmap_demo_runs_top_to_bottom(monkeypatch):
    # quick grids, and one thread: the test checks the notebook works, not how fast it is
    monkeypatch.setenv("DEMO_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(DEMO, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(DEMO.parent)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert "coupling slope" in text and len(images) == 4
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
