from pathlib import Path

import nbformat
import pytest

from tests.wdlab.demo_run import ink, run_demo

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demos" / "optimizer_race.ipynb"
# What a lecturer does last: switch the problem and move the step slider (no front end here).
USE_THE_WIDGET = """
demo.controls["problem"].value = "noisy"
demo.step.value = 10
print("widget on:", demo.result.problem.name, len(demo.drawing.lines["Adam"][0].get_xdata()))
"""


@pytest.mark.slow
def test_optimizer_race_demo_runs_top_to_bottom_and_its_widget_answers():
    saved = nbformat.read(DEMO, as_version=4)
    assert not any(c.get("outputs") for c in saved.cells if c.cell_type == "code")  # saved without outputs
    nb, text, images = run_demo(DEMO, USE_THE_WIDGET)  # and no cell raises
    assert len(images) == 6 and all(ink(o) > 0.05 for o in images)  # 5 problems, 1 static fallback
    rows = [line.split()[0] for line in text.splitlines() if "(0.0" in line]
    assert rows == ["ill_conditioned", "rotated_valley", "rosenbrock", "saddle", "noisy"]
    gaps = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if "largest path difference" in line]
    assert len(gaps) == 3 and max(gaps) < 1e-6  # the reference rules follow torch.optim's paths
    assert text.count("static figures, one per problem") == 1
    assert "widget on: noisy 11" in text
    view = "application/vnd.jupyter.widget-view+json"
    assert any(view in o.get("data", {}) for o in nb.cells[-3].outputs)  # the race widget
