import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from wdlab import plots  # noqa: E402
from wdlab.sweep import SweepResult  # noqa: E402

LRS = np.logspace(-4, -1, 7).tolist()
WDS = np.logspace(-5, -1, 9).tolist()


def _result(score, decay="wd"):
    """A hand-made sweep whose accuracy is ``score(log10 lr, log10 decay)``."""
    ll, lw = np.meshgrid(np.log10(LRS), np.log10(WDS), indexing="ij")
    acc = score(ll, lw)
    return SweepResult({"lr": LRS, decay: WDS}, acc, 1 - acc, np.zeros(acc.shape + (3,)),
                       {"val_acc": acc[..., None], "val_loss": (1 - acc)[..., None]},
                       np.array([3]), 0.0)


def test_coupling_slope_recovers_the_ridge_direction():
    diagonal = _result(lambda ll, lw: 0.95 - 0.1 * (lw + ll + 5.5) ** 2)  # best log wd = -5.5 - log lr
    aligned = _result(lambda ll, lw: 0.95 - 0.1 * (lw + 3.0) ** 2 - 0.01 * ll ** 2)
    rising = _result(lambda ll, lw: 0.95 - 0.1 * (lw - ll / 2 + 2.0) ** 2, decay="l2")
    assert plots.coupling_slope(diagonal) == pytest.approx(-1.0, abs=0.15)
    assert plots.coupling_slope(aligned) == pytest.approx(0.0, abs=0.1)
    assert plots.coupling_slope(rising) == pytest.approx(0.5, abs=0.15)
    assert plots.coupling_slope(diagonal, "val_loss") == pytest.approx(-1.0, abs=0.15)


def test_heatmaps_share_one_colour_scale_and_mark_the_best():
    a = _result(lambda ll, lw: 0.95 - 0.1 * (lw + ll + 5.5) ** 2)
    b = _result(lambda ll, lw: 0.5 - 0.1 * (lw + 3.0) ** 2)
    fig = plots.heatmaps({"L2": a, "decoupled": b}, metric=["val_acc", "val_loss"], threshold=0.9)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 4 and len(fig.axes) == 6  # 2 x 2 panels and one colorbar per row
    meshes = [ax.collections[0] for ax in panels[:2]]
    assert meshes[0].norm.vmin == meshes[1].norm.vmin and meshes[0].norm.vmax == meshes[1].norm.vmax
    assert panels[0].get_xscale() == "log" and "coupling slope" in panels[0].get_title()
    star = panels[0].lines[0]
    best = a.best()
    assert star.get_xdata()[0] == best["lr"] and star.get_ydata()[0] == best["wd"]
    assert len(panels[0].collections) > 1  # the threshold contour


@pytest.mark.parametrize("call, match", [
    (lambda r: plots.heatmaps({}, "val_acc"), "non-empty"),
    (lambda r: plots.heatmaps({"a": r}, metric="accuracy"), "metric"),
    (lambda r: plots.coupling_slope(r.select("lr", 0)), "2-D"),
    (lambda r: plots.heatmaps({"a": r}, ax=[None, None]), "axes"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(_result(lambda ll, lw: 0.9 - 0.1 * lw ** 2))


def test_render_png_draws_a_figure_without_pyplot():
    import io

    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(8, 6))
    axes = fig.subplots(1, 2)
    plots.heatmaps({"a": _result(lambda ll, lw: 0.9 - 0.1 * lw ** 2),
                    "b": _result(lambda ll, lw: 0.8 - 0.1 * ll ** 2)}, ax=axes)
    open_before = plt.get_fignums()
    png = plots.render_png(fig, dpi=50)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert pixels.shape == (300, 400)
    assert (pixels < 250).mean() > 0.2  # not blank: the heatmaps are there
    assert plt.get_fignums() == open_before  # nothing registered with pyplot
    # minor ticks off (they tripled the drawing time); major ticks stay
    assert len(axes[0].xaxis.get_minorticklocs()) == 0 and len(axes[0].xaxis.get_majorticklocs()) > 0
