import base64
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demos" / "optimizer_race.ipynb"
# What a lecturer does last: switch the problem and move the step slider (no front end here).
USE_THE_WIDGET = """
demo.controls["problem"].value = "noisy"
demo.step.value = 10
print("widget on:", demo.result.problem.name, len(demo.drawing.lines["Adam"][0].get_xdata()))
"""


def _ink(output):
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))).convert("L"))
    return float((pixels < 250).mean())


@pytest.mark.slow
def test_optimizer_race_demo_runs_top_to_bottom_and_its_widget_answers():
    nb = nbformat.read(DEMO, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # saved without outputs
    nb.cells.append(nbformat.v4.new_code_cell(USE_THE_WIDGET))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(DEMO.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert len(images) == 6 and all(_ink(o) > 0.05 for o in images)  # 5 problems, 1 static fallback
    rows = [line.split()[0] for line in text.splitlines() if "(0.0" in line]
    assert rows == ["ill_conditioned", "rotated_valley", "rosenbrock", "saddle", "noisy"]
    gaps = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if "largest path difference" in line]
    assert len(gaps) == 3 and max(gaps) < 1e-6  # the reference rules follow torch.optim's paths
    assert text.count("static figures, one per problem") == 1
    assert "widget on: noisy 11" in text
    view = "application/vnd.jupyter.widget-view+json"
    assert any(view in o.get("data", {}) for o in nb.cells[-3].outputs)  # the race widget
