"""wdlab.race and wdlab.race_widget: exact gradients, a known convergence rate, divergence and
arrival bookkeeping, clear errors for bad contenders, and the widget's static fallback."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from autograder.reference import RULES  # noqa: E402
from wdlab import race, race_widget  # noqa: E402


def gd(theta, grad, state, t, lr, eta=1.0):
    """Plain gradient descent with the course signature."""
    return theta - eta * lr * grad, state


@pytest.mark.parametrize("name", list(race.PROBLEMS))
def test_gradients_are_autograd_of_the_loss_and_the_minimum_is_right(name):
    p = race.PROBLEMS[name]
    gen = torch.Generator().manual_seed(1)
    x0, x1, y0, y1 = p.extent
    theta = torch.rand(50, 2, generator=gen, dtype=torch.float64) * torch.tensor(
        [x1 - x0, y1 - y0], dtype=torch.float64) + torch.tensor([x0, y0], dtype=torch.float64)
    theta.requires_grad_(True)
    (auto,) = torch.autograd.grad(p.loss(theta).sum(), theta)
    with torch.no_grad():
        assert torch.allclose(p.exact_grad(theta), auto, rtol=1e-12, atol=1e-12)
        noise = p.grad(theta, 7) - p.exact_grad(theta)
        assert torch.allclose(noise, p.noise * p.xi(7).expand_as(noise))  # one draw per step
        grid = torch.tensor(np.stack(np.meshgrid(np.linspace(x0, x1, 101), np.linspace(y0, y1, 101)), -1))
        assert float(p.loss(grid).min()) >= p.f_star - 1e-12
        for m in p.minimizers:
            point = torch.tensor(m, dtype=torch.float64)
            assert float(p.loss(point)) == pytest.approx(p.f_star, abs=1e-12)
            assert torch.allclose(p.exact_grad(point), torch.zeros(2, dtype=torch.float64))


def test_noise_is_seeded_per_step_and_the_same_for_every_contender():
    p = race.PROBLEMS["noisy"]
    first = p.xi(3000).clone()
    fresh = race._problems()["noisy"]          # nothing cached: step 3000 drawn directly
    assert torch.equal(fresh.xi(3000), first) and not torch.equal(p.xi(3001), first)
    result = race.run(p, {"a": (gd, {"lr": 0.1}), "b": (torch.optim.SGD, {"lr": 0.1})}, steps=50)
    assert np.allclose(result.paths["a"], result.paths["b"], rtol=0, atol=1e-14)


def test_gradient_descent_converges_at_the_predicted_linear_rate():
    # f = 1/2 (0.1 x^2 + 10 y^2), lr 0.1: y is gone after one step (1 - 0.1 * 10 = 0), x shrinks
    # by 1 - 0.1 * 0.1 = 0.99 per step, so x_t = 0.99^t x_0 and f_t = 0.05 x_t^2.
    p = race.PROBLEMS["ill_conditioned"]
    result = race.run(p, {"GD": (gd, {"lr": 0.1}), "torch SGD": (torch.optim.SGD, {"lr": 0.1})}, steps=400)
    t = np.arange(401)
    x = 0.99 ** t * p.start[0]
    assert np.allclose(result.paths["GD"][1:, 1], 0.0, atol=1e-15)
    assert np.allclose(result.paths["GD"][:, 0], x, rtol=1e-12)
    assert np.allclose(result.losses["torch SGD"][1:], 0.05 * x[1:] ** 2, rtol=1e-10)
    # first step with 0.05 * 0.99^(2t) x0^2 <= tol
    expected = int(np.ceil(np.log(p.tol / (0.05 * p.start[0] ** 2)) / (2 * np.log(0.99))))
    assert result.steps_to_tol("GD") == result.steps_to_tol("torch SGD") == expected
    assert result.cell("GD") == str(expected) and not result.diverged


def test_divergence_stops_a_contender_and_the_others_race_on():
    p = race.PROBLEMS["ill_conditioned"]
    result = race.run(p, {"too fast": (gd, {"lr": 0.5}), "fine": (gd, {"lr": 0.19})}, steps=300)
    # y is multiplied by 1 - 0.5 * 10 = -4 per step: 4^t > FAR extent heights after a few steps
    stop = result.diverged["too fast"]
    assert 3 <= stop <= 10 and "fine" not in result.diverged
    path = result.paths["too fast"]
    assert np.isfinite(path[:stop + 1]).all() and np.isnan(path[stop + 1:]).all()
    assert np.isnan(result.losses["too fast"][stop + 1:]).all()
    assert result.steps_to_tol("too fast") is None and result.cell("too fast") == race.DIVERGED
    assert result.steps_to_tol("fine") is not None
    nan_rule = (lambda theta, grad, state, t, lr: (theta * float("nan"), state), {"lr": 1.0})
    assert race.run(p, {"nan": nan_rule}, steps=5).diverged == {"nan": 1}


def test_steps_to_tol_and_the_table():
    p = race.PROBLEMS["saddle"]
    result = race.run(p, {"GD": (gd, {"lr": 0.1}), "still": (gd, {"lr": 0.0})}, steps=200)
    gaps = result.losses["GD"] - p.f_star
    n = result.steps_to_tol("GD")
    assert gaps[n] <= p.tol < gaps[:n].min() and result.steps_to_tol("still") is None
    with pytest.raises(ValueError, match="no contender 'Adam'"):
        result.steps_to_tol("Adam")
    other = race.run("ill_conditioned", {"still": (gd, {"lr": 0.0}),
                                         "wild": (gd, {"lr": 1.0})}, steps=50)
    lines = race.table([result, other]).splitlines()
    assert lines[0].split() == ["problem", "(tol)", "GD", "still", "wild"]
    assert lines[2].split() == ["saddle", "(0.001)", str(n), race.NEVER]
    assert lines[3].split() == ["ill_conditioned", "(0.001)", race.NEVER, race.DIVERGED]


def test_a_student_rule_races_beside_torch_optim_on_the_same_path():
    replace = {"Adagrad": (RULES["adagrad"], {"lr": 1.0}),
               "Adam": (RULES["adam"], lambda kw: {"lr": kw["lr"], "beta1": kw["betas"][0],
                                                   "beta2": kw["betas"][1]})}
    ours = race.run("ill_conditioned", race.contenders("ill_conditioned", ["Adagrad", "Adam"], replace))
    theirs = race.run("ill_conditioned", race.contenders("ill_conditioned", ["Adagrad", "Adam"]))
    assert ours.paths["Adam"].shape == (301, 2)
    for name in ("Adagrad", "Adam"):
        assert np.allclose(ours.paths[name], theirs.paths[name], rtol=1e-10, atol=1e-12)


def test_suggested_tables_are_complete():
    names = ["SGD", "momentum", "Nesterov", "Adagrad", "Adadelta", "RMSProp", "Adam", "AMSGrad",
             "Adamax", "NAdam", "RAdam"]
    assert set(race.SUGGESTED) == set(race.PROBLEMS) == set(race.FEATURED)
    for problem, table in race.SUGGESTED.items():
        assert list(table) == names and set(race.FEATURED[problem]) <= set(names)
        assert list(race.contenders(problem)) == names


@pytest.mark.parametrize("racers, match", [
    ({}, "non-empty dict"),
    ({"mine": gd}, "contender 'mine' must be"),
    ({"mine": (gd, {"learning_rate": 0.1})}, "contender 'mine': rule 'gd' does not have the course"),
    ({"mine": (torch.nn.Linear, {})}, "contender 'mine': Linear is a class but not a torch.optim"),
    ({"opt": (torch.optim.SGD, {"lr": 0.1, "betas": (0.9, 0.9)})}, r"contender 'opt': SGD\(\*\*"),
    ({"flat": (lambda theta, grad, state, t, lr: (theta.sum(), state), {"lr": 0.1})},
     "contender 'flat': a rule must return new_theta shaped like theta"),
])
def test_bad_contenders_get_an_error_naming_them(racers, match):
    with pytest.raises(ValueError, match=match):
        race.run("saddle", racers, steps=3)


def test_an_error_inside_a_rule_says_which_contender_raised():
    def broken(theta, grad, state, t, lr):
        raise ZeroDivisionError("oops")

    with pytest.raises(ZeroDivisionError) as info:
        race.run("saddle", {"broken one": (broken, {"lr": 0.1})}, steps=3)
    assert "contender 'broken one' on problem 'saddle'" in "".join(info.value.__notes__)


@pytest.mark.parametrize("kwargs, match", [
    ({"problem": "circle"}, "unknown problem 'circle'"),
    ({"problem": "saddle", "names": ["Adam", "Lion"]}, r"unknown optimizer names \['Lion'\]"),
    ({"problem": "saddle", "names": ["SGD"], "replace": {"Adam": (gd, {})}}, "add them to names"),
    ({"problem": "saddle", "replace": {"Adam": gd}}, r"replace\['Adam'\] must be \(rule, hparams\)"),
])
def test_contenders_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        race.contenders(**kwargs)


def test_draw_shows_every_path_until_the_step_asked_for():
    result = race.run("rosenbrock", race.contenders("rosenbrock", ["SGD", "Adam", "RAdam"]), steps=60)
    drawing = race.Drawing(result)
    assert len(drawing.fig.axes) == 2 and drawing.ax_loss.get_yscale() == "log"
    labels = [t.get_text() for t in drawing.fig.legends[0].get_texts()]
    assert labels == ["SGD: —", "Adam: —", "RAdam: div"]
    drawing.show_until(10)
    path_line, head, loss_line = drawing.lines["Adam"]
    assert len(path_line.get_xdata()) == 11 and len(loss_line.get_xdata()) == 11
    assert np.allclose(path_line.get_xydata(), result.paths["Adam"][:11])
    assert head.get_marker() == "o" and drawing.lines["RAdam"][1].get_marker() == "X"
    with pytest.raises(ValueError, match=r"names \['Lion'\] did not race"):
        race.draw(result, ["Lion"])


def test_running_mean():
    assert np.allclose(race.running_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])


def test_with_hparams_scales_lr_and_sets_the_betas_it_finds():
    racers = race.contenders("noisy", ["SGD", "momentum", "Adam"],
                             {"Adam": (RULES["adam"], {"lr": 0.1, "beta1": 0.9, "beta2": 0.999})})
    out = race_widget.with_hparams(racers, 2.0, beta1=0.5, beta2=0.9)
    assert out["SGD"][1] == {"lr": 0.1}
    assert out["momentum"][1] == {"lr": 0.02, "momentum": 0.5}
    assert out["Adam"][1] == {"lr": 0.2, "beta1": 0.5, "beta2": 0.9}
    torch_adam = race_widget.with_hparams(race.contenders("noisy", ["Adam"]), beta2=0.9)["Adam"][1]
    assert torch_adam["betas"] == (0.9, 0.9) and racers["SGD"][1] == {"lr": 0.05}  # no change in place
    with pytest.raises(ValueError, match="lr_scale must be a positive"):
        race_widget.with_hparams(racers, 0.0)


def test_static_fallback_draws_one_figure_per_problem_and_says_so_once(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr(race_widget, "_show", shown.append)
    results = race_widget.race_demo(["saddle", "noisy"], steps=20)  # pytest: no notebook kernel
    out = capsys.readouterr().out
    assert out.count("static figures") == 1 and "no notebook kernel with ipywidgets" in out
    assert [r.problem.name for r in results] == ["saddle", "noisy"] and len(shown) == 2
    assert len(results[0].paths) == 11  # all race; the figure draws the featured ones
    assert len(shown[1].legends[0].get_texts()) == len(race.FEATURED["noisy"])


def test_the_widget_races_on_hyperparameter_changes_and_only_redraws_on_step_changes(monkeypatch):
    widget = race_widget.RaceWidget(["saddle", "ill_conditioned"], steps=40)
    assert widget.result.problem.name == "saddle" and widget.step.max == 40 and widget.image.value
    races = []
    monkeypatch.setattr(race_widget, "run", lambda *a, **k: races.append(a) or race.run(*a, **k))
    before = widget.image.value
    widget.step.value = 5
    assert races == [] and widget.image.value != before
    assert len(widget.drawing.lines["Adam"][0].get_xdata()) == 6
    widget.controls["problem"].value = "ill_conditioned"
    assert len(races) == 1 and list(widget.result.paths) == list(race.FEATURED["ill_conditioned"])
    widget.controls["lr_scale"].value = 10 ** 0.5
    assert len(races) == 2 and widget.step.value == 40
    assert widget.racers()["SGD"][1]["lr"] == pytest.approx(0.19 * 10 ** 0.5)
    widget.controls["lr_scale"].value = 1.0                # back to a race seen before: cached
    assert len(races) == 2 and "raced 40 steps" in widget.status.value
