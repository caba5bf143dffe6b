"""wdlab.toy2d: the 2-D problem's rest points are the ones its docstring derives."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from autograder.reference import RULES  # noqa: E402
from wdlab import toy2d  # noqa: E402

PROBLEM = toy2d.NoisyQuadratic(curvature=(10.0, 0.1), target=(1.0, 1.0), noise=1.0)


def test_gradient_and_l2_rest_point():
    theta = torch.tensor([0.5, 2.0], dtype=torch.float64)
    assert torch.allclose(PROBLEM.grad(theta, torch.zeros(2, dtype=torch.float64)),
                          torch.tensor([-5.0, 0.1], dtype=torch.float64))
    rest = PROBLEM.l2_rest_point(0.1)
    # The minimizer of f + (l2/2)||theta||^2: its gradient h (theta - c) + l2 theta vanishes.
    assert torch.allclose(torch.tensor(PROBLEM.curvature, dtype=torch.float64) * (rest - 1) + 0.1 * rest,
                          torch.zeros(2, dtype=torch.float64))


def test_adam_l2_rests_at_the_l2_minimizer_and_adamw_shrinks_both_coordinates_alike():
    paths = {"Adam + L2": toy2d.run(RULES["adam_l2"], PROBLEM, (-0.5, 2.0), 1500, runs=8, lr=0.01, l2=0.1),
             "AdamW": toy2d.run(RULES["adamw_paper"], PROBLEM, (-0.5, 2.0), 1500, runs=8, lr=0.01, wd=0.004)}
    assert paths["AdamW"].shape == (1501, 8, 2)
    l2_rest, w_rest = toy2d.rest_point(paths["Adam + L2"]), toy2d.rest_point(paths["AdamW"])
    assert torch.allclose(l2_rest, PROBLEM.l2_rest_point(0.1), atol=0.04)
    assert abs(float(w_rest[0] - w_rest[1])) < 0.04 and float(w_rest.max()) < 0.85
    fig, ax = plt.subplots()
    toy2d.draw(ax, PROBLEM, paths)
    assert len(ax.get_legend_handles_labels()[1]) == 6
    plt.close(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="curvature must be two positive numbers"):
        toy2d.NoisyQuadratic(curvature=(1.0, -1.0))
    with pytest.raises(ValueError, match="noise must be >= 0"):
        toy2d.NoisyQuadratic(noise=-1.0)
    with pytest.raises(ValueError, match="steps and runs must be positive integers"):
        toy2d.run(RULES["adam"], PROBLEM, (0.0, 0.0), 0)
