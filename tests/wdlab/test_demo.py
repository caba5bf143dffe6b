from pathlib import Path

import pytest

from tests.wdlab.demo_run import ink, run_demo

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demos" / "heatmap_demo.ipynb"
# What a lecturer does last: press Redraw (here called directly: no front end), with a small grid;
# the explorer's image is then shown as a cell output so the test can decode what was drawn.
PRESS_REDRAW = """
explorer.controls["grid_size"].value, explorer.controls["steps"].value = 3, 50
explorer.redraw()
display(Image(explorer.image.value))
print("bar at the end:", explorer.bar.value == explorer.bar.max)
"""


@pytest.mark.slow
def test_heatmap_demo_runs_top_to_bottom_and_its_explorer_draws(monkeypatch):
    # quick grids: the test checks that the notebook works, not how fast it is (bench_sweeps does)
    monkeypatch.setenv("DEMO_QUICK", "1")
    nb, text, images = run_demo(DEMO, PRESS_REDRAW)  # and no cell raises
    assert text.count("coupling slope") >= 8 and len(images) == 5  # 4 static figures, the redraw
    assert all(ink(o) > 0.2 for o in images)  # none of them blank
    assert "bar at the end: True" in text  # the progress bar reached the end of the second sweep
    view = "application/vnd.jupyter.widget-view+json"
    assert any(view in o.get("data", {}) for o in nb.cells[-2].outputs)  # the explorer is a widget
