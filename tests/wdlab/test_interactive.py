"""wdlab.interactive: the decay curves retrain exactly the sweep's columns, reuse known sweeps,
and outside a notebook kernel draw one static figure."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import wdlab  # noqa: E402
from autograder.reference import RULES  # noqa: E402
from wdlab import interactive  # noqa: E402

SMALL = dict(steps=20, batch_size=50, hidden=(16,), seed=0)
LRS = [1e-3, 1e-2]
L2S = [1e-4, 1e-2, 1.0]
WDS = [1e-3, 1e-1]


def rules():
    return {"Adam + L2": (RULES["adam_l2"], "l2", L2S), "AdamW": (RULES["adamw_paper"], "wd", WDS)}


def test_curves_equal_the_columns_of_a_sweep_and_known_sweeps_are_reused(small_data, monkeypatch):
    known = wdlab.sweep(RULES["adam_l2"], small_data, grid={"lr": LRS, "l2": L2S}, **SMALL)
    curves = interactive.DecayCurves(rules(), small_data, **SMALL)
    curves.add("Adam + L2", known)
    assert curves.complete() == []                 # AdamW still missing
    curves.train(LRS)
    assert curves.complete() == LRS
    assert np.allclose(curves.curves[1e-2]["Adam + L2"], known.val_loss[1])
    aw = wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS}, **SMALL)
    assert np.allclose(curves.curves[1e-3]["AdamW"], aw.val_loss[0], rtol=1e-5)
    calls = []
    monkeypatch.setattr(interactive, "sweep", lambda *a, **k: calls.append(a))
    curves.train([1e-2, 1.00000001e-2])            # the same learning rate: nothing to train
    assert calls == []
    fig = curves.figure(selected=1e-2)
    assert [ax.get_title() for ax in fig.axes] == ["Adam + L2", "AdamW"]


def test_frozen_tail_keeps_the_last_entries():
    kept = interactive.keep_tail(RULES["adamw_paper"], 2)
    theta = torch.ones(2, 5)
    state = {"m": torch.zeros(2, 5), "v": torch.zeros(2, 5)}
    new, _ = kept(theta, torch.ones(2, 5), state, 1, lr=0.1, wd=0.0)
    assert torch.equal(new[:, 3:], theta[:, 3:]) and not torch.equal(new[:, :3], theta[:, :3])


def test_static_figure_outside_a_notebook(small_data, monkeypatch):
    shown = []
    monkeypatch.setattr(interactive.plt, "show", lambda: shown.append(True))
    curves = interactive.decay_curves(rules(), small_data, [1e-3, 3e-3, 1e-2], **SMALL)
    assert shown == [True] and curves.complete() == [1e-3, 3e-3, 1e-2]


def test_bad_arguments(small_data):
    with pytest.raises(ValueError, match="rules must map a label"):
        interactive.DecayCurves({}, small_data)
    with pytest.raises(ValueError, match=r"rules\['x'\] must be \(rule, decay argument name, decay values\)"):
        interactive.DecayCurves({"x": (RULES["adam"], "wd")}, small_data)
    with pytest.raises(ValueError, match="metric must be"):
        interactive.DecayCurves(rules(), small_data, metric="acc")
    with pytest.raises(ValueError, match="lrs must be a non-empty list of positive"):
        interactive.decay_curves(rules(), small_data, [])
    curves = interactive.DecayCurves(rules(), small_data, **SMALL)
    wrong = wdlab.sweep(RULES["adam_l2"], small_data, grid={"lr": LRS, "l2": [1e-4]}, **SMALL)
    with pytest.raises(ValueError, match="result must be a sweep over lr and l2"):
        curves.add("Adam + L2", wrong)


@pytest.mark.slow
def test_in_a_kernel_the_slider_retrains_and_redraws_the_figure_in_place(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    setup = ("import matplotlib.pyplot as plt\nimport data_gen\nfrom autograder.reference import RULES\n"
             "from wdlab import interactive\n"
             "data = data_gen.make_classification(n_train=300, n_val=200, n_test=10, n_informative=8, "
             "n_classes=3, seed=3)\n"
             "rules = {'Adam + L2': (RULES['adam_l2'], 'l2', [1e-4, 1e-2, 1.0]), "
             "'AdamW': (RULES['adamw_paper'], 'wd', [1e-3, 1e-1])}\n"
             "curves = interactive.decay_curves(rules, data, [1e-3, 3e-3, 1e-2], start=[1e-3], steps=20, "
             "batch_size=50, hidden=(16,), seed=0)")
    move = "curves.slider.value = 3e-3\nprint(sorted(curves.curves), curves.slider.value)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(move)])
    before = None
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        figures = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
        assert len(figures) == 1                   # one static figure, then the slider
        before = figures[0].data["image/png"]
        widget = "application/vnd.jupyter.widget-view+json"
        assert any(widget in o.get("data", {}) for o in nb.cells[0].outputs)
        client.execute_cell(nb.cells[1], 1)
    assert "[0.001, 0.003]" in nb.cells[1].outputs[0].text    # the new learning rate was trained
    figures = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 1 and figures[0].data["image/png"] != before   # redrawn in place
