import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from autograder.reference import RULES  # noqa: E402
from autograder.reference.fused import with_fused  # noqa: E402
from wdlab.explorer import LandscapeExplorer  # noqa: E402
from wdlab.landscape import Axis, LandscapeSettings  # noqa: E402

TINY = LandscapeSettings(steps=50, grid_size=3, hidden=(8, 8))
# grids away from the chaotic corner (lr 1, l2 10), where float rounding grows from step to step
CALM = TINY.with_(axes={
    **TINY.axes, "adam_l2": Axis("Adam + L2", "l2", (1e-3, 1e-2), (1e-4, 1e-2)),
    "adamw_paper": Axis("AdamW (paper)", "wd", (1e-3, 1e-2), (1e-3, 1e-2), per_step=True)})


def not_blank(png):
    """Decoded, the image has a real share of non-white pixels and some colour range."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return pixels.shape, float((pixels < 250).mean()), int(np.ptp(pixels))


def test_a_redraw_shows_the_heatmaps_and_counts_the_steps():
    halved = lambda steps: lambda t: 0.5  # noqa: E731 - a schedule factory: steps -> eta_t
    explorer = LandscapeExplorer(with_fused(RULES), TINY,
                                 schedules={"as in the settings": None, "halved": halved})
    updates = []
    explorer.bar.observe(lambda change: updates.append(change["new"]), names="value")
    explorer.controls["schedule"].value = "halved"
    results = explorer.redraw()
    assert list(results) == ["Adam + L2", "AdamW (paper)"] and explorer.results is results
    shape, ink, spread = not_blank(explorer.image.value)
    assert shape[0] > 400 and shape[1] > 500 and ink > 0.2 and spread > 100
    # the bar counts the steps of every part of the grid trained side by side
    assert max(updates) == explorer.bar.max and explorer.bar.max % 50 == 0
    assert explorer.bar.description == "sweep 2/2"
    assert explorer.status.value.count("coupling slope") == 2 and "redrawn in" in explorer.status.value
    assert not explorer.button.disabled


def test_the_controls_change_the_training():
    explorer = LandscapeExplorer(RULES, TINY)
    explorer.controls["pair"].value = "sgd"
    explorer.controls["grid_size"].value = 4
    results = explorer.redraw()
    assert list(results) == ["SGD + L2", "SGDW"] and results["SGDW"].shape == (4, 4)


def test_a_failed_redraw_says_why():
    def broken(theta, grad, state, t, **hp):
        raise RuntimeError("no update")

    explorer = LandscapeExplorer({**RULES, "adam_l2": broken}, TINY)
    with pytest.raises(Exception):  # noqa: B017 - whatever the rule raised
        explorer.redraw()
    assert "redraw failed" in explorer.status.value and not explorer.button.disabled


@pytest.mark.parametrize("kwargs, match", [
    ({"rules": [RULES["adam"]]}, "rules must be a dict"),
    ({"rules": {"adam_l2": RULES["adam_l2"]}}, "no complete pair"),
    ({"rules": RULES, "schedules": {"cosine": "cosine"}}, "schedules must map"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LandscapeExplorer(**kwargs)


def test_landscape_keeps_the_in_place_update_and_gives_the_paper_landscape():
    from autograder.reference.fused import FUSED_RULES
    from wdlab.explorer import landscape
    from wdlab.landscape import paper_landscape

    ours = landscape("adam", rules=FUSED_RULES, settings=CALM)
    reference = paper_landscape("adam", rules=RULES, settings=CALM)
    assert all(r.fused for r in ours.values()) and not any(r.fused for r in reference.values())
    for label, r in reference.items():
        np.testing.assert_allclose(ours[label].train_loss, r.train_loss, rtol=1e-4, atol=1e-6)
    plain = landscape("adam", rules=RULES, settings=CALM)  # no in-place update: the same rules
    assert not any(r.fused for r in plain.values())
    np.testing.assert_allclose(plain["Adam + L2"].train_loss, reference["Adam + L2"].train_loss,
                               rtol=1e-5, atol=1e-6)
