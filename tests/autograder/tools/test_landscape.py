import json
import math

import numpy as np
import pytest
import torch

from autograder.tools import landscape as tool
from wdlab.landscape import LandscapeSettings


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # tiny tensors on a shared machine


def test_prints_the_summary_as_its_last_line(capsys):
    report = tool.main(["--seeds", "0", "1", "2", "--grid", "3", "--steps", "60"])
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1]) == report
    assert report["seeds"] == [0, 1, 2] and report["settings"]["grid_size"] == 3
    assert set(report["methods"]) == {"Adam + L2", "AdamW (paper)"}
    for label, method in report["methods"].items():
        assert out.count(f"{label}") >= 4  # one line per seed and one for the mean
        assert method["decay"] in ("l2", "wd") and isinstance(method["interior"], bool)
        assert 0 <= method["interior_seeds"] <= 3 and len(method["per_seed"]) == 3
        gains = [seed["loss_gain"] for seed in method["per_seed"]]
        assert method["loss_gain_mean"] == pytest.approx(np.mean(gains))
        assert method["loss_gain_std"] == pytest.approx(np.std(gains, ddof=1))
        slopes = [seed["slope"] for seed in method["per_seed"]]
        assert method["slope_mean"] == pytest.approx(np.mean(slopes))
        low, high = method["slope_ci95"]
        assert low < method["slope_mean"] < high


def test_spread_is_a_student_t_interval():
    mean, std, (low, high) = tool.spread([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    assert high - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)  # t(0.975, 2 dof)
    assert math.isnan(tool.spread([1.0, float("nan")])[1])
    assert tool.plain({"a": [float("nan"), 1.0], "b": float("inf")}) == {"a": [None, 1.0], "b": None}


def test_mean_landscape_averages_cell_by_cell():
    settings = LandscapeSettings(steps=10, grid_size=2, hidden=(8, 8))
    runs = [tool.paper_landscape("adam", seed=s, settings=settings, rules=tool.RULES) for s in (0, 1)]
    mean = tool.mean_landscape(runs)
    first, second = runs
    for label in mean:
        np.testing.assert_allclose(mean[label].val_loss, (first[label].val_loss + second[label].val_loss) / 2)
        accs = [run.unregularized[label].val_acc for run in runs]
        np.testing.assert_allclose(mean.unregularized[label].val_acc, (accs[0] + accs[1]) / 2)


@pytest.mark.parametrize("argv, match", [
    (["--seeds", "0", "1"], "at least 3"),
    (["--seeds", "0", "0", "1"], "at least 3"),
    (["--steps", "0"], "steps"),
])
def test_bad_arguments(argv, match, capsys):
    with pytest.raises(SystemExit):
        tool.main(argv)
    assert match in capsys.readouterr().err


def test_needs_the_unregularized_row():
    with pytest.raises(ValueError, match="unregularized"):
        tool.measure([0, 1, 2], settings=LandscapeSettings(unregularized=False))
