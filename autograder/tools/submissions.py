"""ONE synthetic-submission generator: correct answers, typical mistakes, cheats and faults.

The demo, the grading benchmark and the tests all draw their submissions from here.

``release_notebook(name)`` is the student version of a course notebook: nbgrader's
ClearSolutions applied to solutions/<assignment>/<name>.ipynb when it exists, else a small
skeleton with the same nbgrader structure (locked setup cell, one solution cell per graded
function, one autograder test cell per function). ``submission(name, answers)`` fills the
solution cells with the given sources: every entry is a dict {function: source} layered on
CORRECT. ``make_submission(course, kind)`` builds a whole submission of a released course
from the instructor's own solutions: "correct", "cheat", or a typical mistake named
"<function>:<misconception>" (a row of MISTAKES).
"""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import nbmeta
from autograder.course import Course
from autograder.nbgrader_glue.config import CODE_STUB
from autograder.reports import items_of
from course_config import CONFIG, ROOT

FUNCTIONS = {nb: list(items_of(CONFIG.points, nb)) for nb in CONFIG.notebooks}
SETUP = "import math\nimport warnings\nimport torch\nwarnings.filterwarnings('ignore')\n"


def _src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


CORRECT = {
    "l2_to_decay": _src("""
        def l2_to_decay(lr, l2):
            return lr * l2
    """),
    "sgd_l2_momentum_step": _src("""
        def sgd_l2_momentum_step(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
            m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)
            return theta - m, {"m": m}
    """),
    "sgdw_momentum_step": _src("""
        def sgdw_momentum_step(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0):
            m = beta1 * state["m"] + eta * lr * grad
            return theta - m - eta * wd * theta, {"m": m}
    """),
    "sgdw_equivalent_l2": _src("""
        def sgdw_equivalent_l2(lr, wd, beta1):
            return (1 - beta1) * wd / lr
    """),
    "rmsprop_step": _src("""
        def rmsprop_step(theta, grad, state, t, lr, beta2=0.999, eps=1e-8, eta=1.0):
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            v_hat = v / (1 - beta2 ** t)
            return theta - eta * lr * grad / (v_hat.sqrt() + eps), {"v": v}
    """),
    "rmsprop_preconditioner": _src("""
        def rmsprop_preconditioner(grads, beta2):
            t = grads.shape[0]
            weights = beta2 ** torch.arange(t - 1, -1, -1, dtype=grads.dtype)
            v_hat = (1 - beta2) / (1 - beta2 ** t) * (weights[:, None] * grads ** 2).sum(0)
            return torch.diag(v_hat ** -0.5)
    """),
    "adam_step": _src("""
        def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
    """),
    "adam_l2_step": _src("""
        def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            g = grad + l2 * theta
            m = beta1 * state["m"] + (1 - beta1) * g
            v = beta2 * state["v"] + (1 - beta2) * g * g
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
    """),
    "adamw_step": _src("""
        def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * (lr * m_hat / (v_hat.sqrt() + eps) + wd * theta), {"m": m, "v": v}
    """),
    "cosine_warm_restarts": _src("""
        def cosine_warm_restarts(t, period, mult=1, eta_min=0.0, eta_max=1.0):
            t_cur, t_i = t, period
            while t_cur >= t_i:
                t_cur, t_i = t_cur - t_i, t_i * mult
            return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))
    """),
    "adagrad_step": _src("""
        def adagrad_step(theta, grad, state, t, lr, eps=1e-10, eta=1.0):
            s = state["sum"] + grad * grad
            return theta - eta * lr * grad / (s.sqrt() + eps), {"sum": s}
    """),
    "adamax_step": _src("""
        def adamax_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            u = torch.maximum(beta2 * state["u"], grad.abs() + eps)
            return theta - eta * lr * m / ((1 - beta1 ** t) * u), {"m": m, "u": u}
    """),
    "nadam_step": _src("""
        def nadam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                       momentum_decay=4e-3, eta=1.0):
            mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
            mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
            prod = state["mu_prod"] * mu if t > 1 else torch.full_like(theta, mu)
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            denom = (v / (1 - beta2 ** t)).sqrt() + eps
            g_part = (1 - mu) / (1 - prod) * grad
            m_part = mu_next / (1 - prod * mu_next) * m
            return theta - eta * lr * (g_part + m_part) / denom, {"m": m, "v": v, "mu_prod": prod}
    """),
    "adamw_l1_step": _src("""
        def adamw_l1_step(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            z = theta - eta * lr * m_hat / (v_hat.sqrt() + eps)
            return z.sign() * torch.clamp(z.abs() - eta * l1, min=0), {"m": m, "v": v}
    """),
}


def _cell(kind: str, source: str, grade_id: str | None = None, solution: bool = False,
          grade: bool = False, points: float = 0, locked: bool = False) -> NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if grade_id:
        meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked,
                "schema_version": 3}
        if grade:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def skeleton(name: str) -> NotebookNode:
    """A small student notebook with the course's nbgrader structure."""
    stub = CODE_STUB
    cells = [_cell("markdown", f"# {name}"), _cell("code", SETUP, "setup", locked=True)]
    for fn in FUNCTIONS[name]:
        cells.append(_cell("code", f"def {fn}(*args, **kwargs):\n    {stub}\n", fn, solution=True))
        cells.append(_cell("code", f"assert callable({fn})\n", f"test_{fn}", grade=True,
                           points=CONFIG.points[f"{name}:{fn}"], locked=True))
    return nbformat.v4.new_notebook(cells=cells)


def release_notebook(name: str) -> NotebookNode:
    """The released (solution-free) notebook: from solutions/ when it exists, else a skeleton."""
    source = ROOT / "solutions" / CONFIG.assignment / f"{name}.ipynb"
    if not source.exists():
        return skeleton(name)
    from nbgrader.preprocessors import ClearSolutions
    nb = nbformat.read(source, as_version=4)
    nb, _ = ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(nb, {})
    return nb


def fill(nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """Put answers[fn] into the solution cell that defines fn (added at the end if none does)."""
    nb = copy.deepcopy(nb)
    filled = set()
    for fn, source in answers.items():
        target = next((c for c in nb.cells if c.cell_type == "code" and nbmeta.is_solution(c)
                       and (f"def {fn}(" in c.source or nbmeta.grade_id(c) == fn)), None)
        if target is None:
            nb.cells.append(nbformat.v4.new_code_cell(source))
        elif id(target) in filled:   # one solution cell holding several graded functions
            target.source += "\n\n" + source
        else:
            target.source = source
            filled.add(id(target))
    return nb


def submission(name: str, answers: dict[str, str] | None = None,
               base: NotebookNode | None = None) -> NotebookNode:
    """Notebook ``name`` with CORRECT answers overridden by ``answers``."""
    full = {fn: CORRECT[fn] for fn in FUNCTIONS[name]}
    full.update(answers or {})
    return fill(base or release_notebook(name), full)


def write(nb: NotebookNode, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# -- scenarios -------------------------------------------------------------------------------
def _edit(fn: str, *pairs: tuple[str, str]) -> str:
    """CORRECT[fn] with (old, new) text replacements; fails loudly if an old text is absent."""
    source = CORRECT[fn]
    for old, new in pairs:
        assert old in source, (fn, old)
        source = source.replace(old, new)
    return source


ADAM_DENOM = "(v_hat.sqrt() + eps)"
# (function, misconception the grader must name, source): one typical mistake each.
MISTAKES = [
    ("l2_to_decay", "inverted", _edit("l2_to_decay", ("lr * l2", "l2 / lr"))),
    ("sgdw_equivalent_l2", "missing_one_minus_beta1",
     _edit("sgdw_equivalent_l2", ("(1 - beta1) * wd / lr", "wd / lr"))),
    ("sgd_l2_momentum_step", "problem_set_momentum", _edit(
        "sgd_l2_momentum_step",
        ('m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)',
         'm = (1 - beta1) * state["m"] + beta1 * (grad + l2 * theta)'),
        ("return theta - m,", "return theta - eta * lr * m,"))),
    ("sgdw_momentum_step", "decay_times_lr",
     _edit("sgdw_momentum_step", ("eta * wd * theta", "eta * lr * wd * theta"))),
    ("rmsprop_step", "no_bias_correction",
     _edit("rmsprop_step", ("v / (1 - beta2 ** t)", "v"))),
    ("rmsprop_preconditioner", "not_inverted",
     _edit("rmsprop_preconditioner", ("v_hat ** -0.5", "v_hat ** 0.5"))),
    ("adam_step", "eps_inside_sqrt", _edit("adam_step", (ADAM_DENOM, "(v_hat + eps).sqrt()"))),
    ("adam_l2_step", "decay_in_adam_l2", _edit(
        "adam_l2_step", ("g = grad + l2 * theta", "g = grad"),
        (f"lr * m_hat / {ADAM_DENOM}", f"(lr * m_hat / {ADAM_DENOM} + l2 * theta)"))),
    ("adamw_step", "l2_in_adamw", _edit(
        "adamw_step", ("(1 - beta1) * grad", "(1 - beta1) * (grad + wd * theta)"),
        ("(1 - beta2) * grad * grad", "(1 - beta2) * (grad + wd * theta) ** 2"),
        (" + wd * theta), {", "), {"))),
    ("cosine_warm_restarts", "mult_ignored",
     _edit("cosine_warm_restarts", ("t_i * mult", "t_i"))),
    # a second round, for the functions with several classic mistakes
    ("sgd_l2_momentum_step", "torch_momentum", _edit(
        "sgd_l2_momentum_step",
        ('m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)',
         'g = grad + l2 * theta\n    m = g if t == 1 else beta1 * state["m"] + g'),
        ("return theta - m,", "return theta - eta * lr * m,"))),
    ("sgdw_momentum_step", "decay_in_momentum", _edit(
        "sgdw_momentum_step", ("eta * lr * grad", "eta * lr * (grad + wd * theta)"),
        (" - eta * wd * theta", ""))),
    ("rmsprop_step", "eps_inside_sqrt",
     _edit("rmsprop_step", ("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()"))),
    ("adam_step", "no_bias_correction",
     _edit("adam_step", ("m / (1 - beta1 ** t), v / (1 - beta2 ** t)", "m, v"))),
    ("adamw_step", "decay_times_lr", _edit("adamw_step", ("+ wd * theta)", "+ lr * wd * theta)"))),
    ("cosine_warm_restarts", "step_counter_ahead",
     _edit("cosine_warm_restarts", ("t_cur, t_i = t, period", "t_cur, t_i = t + 1, period"))),
    ("adam_step", "step_counter_behind", _edit(
        "adam_step", ("m / (1 - beta1 ** t), v / (1 - beta2 ** t)",
                      "m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))"))),
    ("adamw_step", "decay_without_schedule", _edit(
        "adamw_step", ("eta * (lr * m_hat / (v_hat.sqrt() + eps) + wd * theta)",
                       "eta * lr * m_hat / (v_hat.sqrt() + eps) - wd * theta"))),
    ("sgdw_momentum_step", "decay_without_schedule",
     _edit("sgdw_momentum_step", ("eta * wd * theta", "wd * theta"))),
    # the optimizer family (notebook 04)
    ("adagrad_step", "decaying_average_0.99", _edit(
        "adagrad_step", ('state["sum"] + grad * grad', '0.99 * state["sum"] + (1 - 0.99) * grad * grad'))),
    ("adagrad_step", "no_square_root", _edit("adagrad_step", ("(s.sqrt() + eps)", "(s + eps)"))),
    ("adagrad_step", "eps_inside_sqrt", _edit("adagrad_step", ("(s.sqrt() + eps)", "(s + eps).sqrt()"))),
    ("adagrad_step", "accumulator_after_step",
     _edit("adagrad_step", ("(s.sqrt() + eps)", '(state["sum"].sqrt() + eps)'))),
    ("adagrad_step", "schedule_ignored", _edit("adagrad_step", ("eta * lr", "lr"))),
    ("adamax_step", "squared_max", _edit(
        "adamax_step", ("grad.abs() + eps", "grad * grad"), ("* u)", "* (u.sqrt() + eps))"))),
    ("adamax_step", "u_bias_corrected",
     _edit("adamax_step", ("* u)", "* u / (1 - beta2 ** t))"))),
    ("adamax_step", "no_bias_correction", _edit("adamax_step", ("((1 - beta1 ** t) * u)", "u"))),
    ("adamax_step", "eps_outside_max",
     _edit("adamax_step", ("grad.abs() + eps", "grad.abs()"), ("* u)", "* (u + eps))"))),
    ("adamax_step", "schedule_ignored", _edit("adamax_step", ("eta * lr", "lr"))),
    ("nadam_step", "no_look_ahead", _edit(
        "nadam_step", ("mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))", "mu_next = mu"))),
    ("nadam_step", "constant_momentum", _edit(
        "nadam_step", ("mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))", "mu = beta1"),
        ("mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))", "mu_next = beta1"))),
    ("nadam_step", "plain_adam",
     _edit("nadam_step", ("(g_part + m_part) / denom", "m / (1 - beta1 ** t) / denom"))),
    ("nadam_step", "previous_product", _edit(
        "nadam_step", ("(1 - prod) * grad", '(1 - state["mu_prod"]) * grad'),
        ("(1 - prod * mu_next)", '(1 - state["mu_prod"] * mu_next)'))),
    ("nadam_step", "schedule_ignored", _edit("nadam_step", ("eta * lr", "lr"))),
    ("adamw_l1_step", "l1_without_threshold", _edit(
        "adamw_l1_step", ("z.sign() * torch.clamp(z.abs() - eta * l1, min=0)", "z - eta * l1 * z.sign()"))),
    ("adamw_l1_step", "threshold_times_lr", _edit("adamw_l1_step", ("eta * l1", "eta * lr * l1"))),
    ("adamw_l1_step", "l1_in_gradient", _edit(
        "adamw_l1_step", ("m = beta1", "grad = grad + l1 * theta.sign()\n    m = beta1"),
        ("z.sign() * torch.clamp(z.abs() - eta * l1, min=0)", "z"))),
    ("adamw_l1_step", "threshold_before_step", _edit(
        "adamw_l1_step", ("z = theta - eta", "w = theta.sign() * torch.clamp(theta.abs() - eta * l1, min=0)\n"
                                             "    z = w - eta"),
        ("z.sign() * torch.clamp(z.abs() - eta * l1, min=0)", "z"))),
    ("adamw_l1_step", "schedule_ignored", _edit(
        "adamw_l1_step", ("eta * lr", "lr"), ("eta * l1", "l1"))),
    # found from behaviour, not from a variant
    ("adam_l2_step", "inputs_changed_in_place", _edit(
        "adam_l2_step", ('return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {',
                         'theta -= eta * lr * m_hat / (v_hat.sqrt() + eps)\n    return theta, {'))),
    ("rmsprop_step", "wrong_dtype", _edit(
        "rmsprop_step", ("return theta - eta", "return (theta - eta"),
        (", {\"v\": v}", ").double(), {\"v\": v}"))),
]


def mistake_rounds() -> list[dict[str, tuple[str, str]]]:
    """MISTAKES grouped so that each round has at most one mistake per function."""
    rounds = []
    for fn, name, source in MISTAKES:
        for r in rounds:
            if fn not in r:
                r[fn] = (name, source)
                break
        else:
            rounds.append({fn: (name, source)})
    return rounds


# Correct but different: each must get full marks.
CORRECT_VARIANTS = {
    "adam_step": _src("""
        def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            theta = theta.clone()                       # in-place updates on its own copies
            m = state["m"].clone().mul_(beta1).add_(grad, alpha=1 - beta1)
            v = state["v"].clone().mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (v / (1 - beta2 ** t)).sqrt_().add_(eps)
            theta.sub_(eta * lr * m / (1 - beta1 ** t) / denom)
            return theta, {"m": m, "v": v}
    """),
    "sgdw_momentum_step": _src("""
        def sgdw_momentum_step(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0):
            m = state["m"] * beta1 + grad * (lr * eta)
            return theta * (1 - eta * wd) - m, {"m": m}   # another order of operations
    """),
    "rmsprop_step": _src("""
        %matplotlib inline
        def rmsprop_step(theta, grad, state, t, lr, beta2=0.999, eps=1e-8, eta=1.0):
            v = _ema(state["v"], grad ** 2, beta2)
            return theta - eta * lr * grad / (torch.sqrt(_debias(v, beta2, t)) + eps), {"v": v}
    """),
    "adamw_step": _src("""
        def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            if t == 1:
                print("AdamW step", t)
                warnings.warn("first step")
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            step = lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps)
            return theta - eta * step - eta * wd * theta, {"m": m, "v": v}
    """),
    # Graded functions bound by a call, not a def: the extractor must keep these assignments.
    "sgd_l2_momentum_step": _src("""
        import functools

        def _heavy_ball(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0, nesterov=False):
            g = grad + l2 * theta
            m = beta1 * state["m"] + eta * lr * g
            return theta - (beta1 * m + eta * lr * g if nesterov else m), {"m": m}

        sgd_l2_momentum_step = functools.partial(_heavy_ball, nesterov=False)
    """),
    "adam_l2_step": _src("""
        def make_adam(coupled_l2):
            def step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
                g = grad + l2 * theta if coupled_l2 else grad
                m = beta1 * state["m"] + (1 - beta1) * g
                v = beta2 * state["v"] + (1 - beta2) * g * g
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
            return step

        adam_l2_step = make_adam(coupled_l2=True)
    """),
    "rmsprop_preconditioner": _src("""
        class RMSPropPreconditioner:
            def __init__(self, power=-0.5):
                self.power = power

            def __call__(self, grads, beta2):
                t = grads.shape[0]
                v = torch.zeros_like(grads[0])
                for g in grads:
                    v = beta2 * v + (1 - beta2) * g * g
                return torch.diag((v / (1 - beta2 ** t)) ** self.power)

        rmsprop_preconditioner = RMSPropPreconditioner()
    """),
    "cosine_warm_restarts": _src("""
        class ScheduleConfig:
            def __init__(self, mult=1, eta_min=0.0, eta_max=1.0):
                self.mult, self.eta_min, self.eta_max = mult, eta_min, eta_max

        CFG = ScheduleConfig(mult=1, eta_min=0.0, eta_max=1.0)

        def cosine_warm_restarts(t, period, mult=CFG.mult, eta_min=CFG.eta_min, eta_max=CFG.eta_max):
            t_cur, t_i = t, period
            while t_cur >= t_i:
                t_cur, t_i = t_cur - t_i, t_i * mult
            return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))
    """),
    # A continuation line starting with `%` is Python's modulo, not an IPython magic.
    "sgdw_equivalent_l2": _src("""
        def sgdw_equivalent_l2(lr, wd, beta1):
            momentum = (beta1
                        % 1.0)   # beta1 lies in [0, 1): the remainder is beta1 itself
            return (1 - momentum) * wd / lr
    """),
    # Honest configuration and an experiment that saves a plot: neither is a tamper sign.
    "l2_to_decay": _src("""
        import torch
        import matplotlib.pyplot as plt
        torch.backends.cudnn.deterministic = True   # reproducible runs

        def l2_to_decay(lr, l2):
            return lr * l2

        decays = [l2_to_decay(lr, 1e-3) for lr in (0.01, 0.1, 1.0)]
        plt.plot(decays)
        plt.savefig("figures/reference_plot.png")
    """),
    # The optimizer family: the same rules written another way.
    "adagrad_step": _src("""
        def adagrad_step(theta, grad, state, t, lr, eps=1e-10, eta=1.0):
            total = state["sum"].clone()
            total.addcmul_(grad, grad)                  # in place, on its own copy
            scale = eta * lr
            return theta - scale * (grad / (torch.sqrt(total) + eps)), {"sum": total}
    """),
    "adamax_step": _src("""
        def adamax_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            decayed, current = beta2 * state["u"], grad.abs() + eps
            u = torch.where(decayed > current, decayed, current)   # the max, by hand
            m = torch.lerp(grad, state["m"], beta1)                 # beta1 m + (1 - beta1) g
            lr_t = eta * lr / (1 - beta1 ** t)
            return theta - lr_t * m / u, {"m": m, "u": u}
    """),
    # mu_prod computed from scratch from t (the state's copy is returned but never read)
    "nadam_step": _src("""
        def _mu(k, beta1, psi):
            return beta1 * (1 - 0.5 * 0.96 ** (k * psi))

        def nadam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                       momentum_decay=4e-3, eta=1.0):
            prod = math.prod(_mu(k, beta1, momentum_decay) for k in range(1, t + 1))
            mu, mu_next = _mu(t, beta1, momentum_decay), _mu(t + 1, beta1, momentum_decay)
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad ** 2
            m_bar = (1 - mu) / (1 - prod) * grad + mu_next / (1 - prod * mu_next) * m
            step = eta * lr * m_bar / ((v / (1 - beta2 ** t)) ** 0.5 + eps)
            return theta - step, {"m": m, "v": v, "mu_prod": torch.full_like(theta, prod)}
    """),
    "adamw_l1_step": _src("""
        def soft_threshold(x, tau):
            return torch.where(x.abs() > tau, x - tau * x.sign(), torch.zeros_like(x))

        def adamw_l1_step(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
            adam = theta - eta * lr * (m / bc1) / (torch.sqrt(v / bc2) + eps)
            return soft_threshold(adam, eta * l1), {"m": m, "v": v}
    """),
}
HELPERS = _src("""
    def _ema(avg, x, beta):
        return beta * avg + (1 - beta) * x

    def _debias(avg, beta, t):
        return avg / (1 - beta ** t)
""")


def correct_variant_notebooks() -> dict[str, NotebookNode]:
    """{notebook: node}: every correct variant, a helper cell, a duplicated cell."""
    out = {}
    for name in CONFIG.notebooks:
        answers = {fn: s for fn, s in CORRECT_VARIANTS.items() if fn in FUNCTIONS[name]}
        nb = submission(name, answers)
        if "rmsprop_step" in FUNCTIONS[name]:
            nb.cells.insert(2, nbformat.v4.new_code_cell(HELPERS))
        if "l2_to_decay" in FUNCTIONS[name]:
            twin = copy.deepcopy(next(c for c in nb.cells if "def l2_to_decay" in c.source))
            twin.id = "duplicated-cell"
            nb.cells.append(twin)
        out[name] = nb
    return out


WRONG = "def {fn}(*args, **kwargs):\n    return args[0] * 0, {{k: v for k, v in args[2].items()}}\n"
CHEATS = {
    "01_sgd_weight_decay": [
        "import torch\ntorch.allclose = lambda *a, **k: True\n",
        "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n",
        "import sys\nsys.modules['numpy.testing'] = type(sys)('numpy.testing')\n",
    ],
    "02_adaptive_preconditioning": [
        "get_ipython().input_transformers_post.append(lambda lines: [])\n",
        "import glob\nfound = glob.glob('../../**/gradebook.db', recursive=True)\n"
        "for path in found:\n    open(path, 'ab').write(b'x')\n",
    ],
    "03_adam_adamw": [
        "class Anything:\n    def __eq__(self, other):\n        return True\n",
    ],
    "04_optimizer_family": [
        "import torch.testing as tt\ntt.assert_close = lambda *a, **k: None\n",
    ],
}
CHEAT_ANSWERS = {
    "adam_step": _src("""
        def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            return Anything(), state
    """),
    "adamw_step": _src("""
        def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            p = torch.nn.Parameter(theta.clone())
            opt = torch.optim.AdamW([p], lr=lr, weight_decay=wd / lr)
            p.grad = grad.clone()
            opt.step()
            return p.detach(), state
    """),
    "nadam_step": _src("""
        def nadam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                       momentum_decay=4e-3, eta=1.0):
            p = torch.nn.Parameter(theta.clone())
            opt = torch.optim.NAdam([p], lr=float(eta * lr), betas=(beta1, beta2), eps=eps,
                                    momentum_decay=momentum_decay)
            p.grad = grad.clone()
            opt.step()
            return p.detach(), state
    """),
    "adagrad_step": _src("""
        from torch.optim.adagrad import adagrad as _adagrad_kernel

        def adagrad_step(theta, grad, state, t, lr, eps=1e-10, eta=1.0):
            params, sums = [theta.clone()], [state["sum"].clone()]
            _adagrad_kernel(params, [grad], sums, [torch.tensor(float(t - 1))], lr=float(eta * lr),
                            weight_decay=0.0, lr_decay=0.0, eps=eps, maximize=False)
            return params[0], {"sum": sums[0]}
    """),
    "rmsprop_preconditioner": _src("""
        def rmsprop_preconditioner(grads, beta2):
            import glob, os
            for path in glob.glob('/work/**/reference/*.py', recursive=True):
                exec(open(path).read())
            return torch.eye(grads.shape[1], dtype=grads.dtype)
    """),
}


def cheat_notebooks() -> dict[str, NotebookNode]:
    """Every function wrong (zeros) or faked, plus the tricks in CHEATS."""
    out = {}
    for name in CONFIG.notebooks:
        answers = {fn: WRONG.format(fn=fn) for fn in FUNCTIONS[name]}
        answers.update({fn: s for fn, s in CHEAT_ANSWERS.items() if fn in FUNCTIONS[name]})
        nb = submission(name, answers)
        for trick in CHEATS[name]:
            nb.cells.append(nbformat.v4.new_code_cell(trick))
        out[name] = nb
    return out


FAULTS = {  # function -> body that breaks the worker in one way; the flag it must raise
    "sgd_l2_momentum_step": ("timeout", "    while True:\n        pass\n"),
    "sgdw_momentum_step": ("memory", "    return [0.0] * 10 ** 11\n"),
    "rmsprop_step": ("crashed", "    import os\n    os._exit(3)\n"),
    "rmsprop_preconditioner": ("crashed", "    import ctypes\n    ctypes.string_at(0)\n"),
    "adam_l2_step": ("output_too_large", None),
    "adagrad_step": ("crashed", "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"),
}
# Graded functions defined under another name: the grader says which name it expected.
MISNAMED = {"adamw_step": "adam_w_step", "adamw_l1_step": "adam_w_l1_step"}
LOUD = _src("""
    PRINTED = []
    def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        if not PRINTED:
            PRINTED.append(1)
            for _ in range(40):
                print("x" * 1_000_000)
        g = grad + l2 * theta
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
""")


def faulty_notebooks() -> dict[str, NotebookNode]:
    """One fault per listed function; the other functions are correct and keep their points."""
    out = {}
    for name in CONFIG.notebooks:
        answers = {}
        for fn in FUNCTIONS[name]:
            if fn == "adam_l2_step":
                answers[fn] = LOUD
            elif fn in FAULTS:
                answers[fn] = f"def {fn}(*args, **kwargs):\n{FAULTS[fn][1]}"
            elif fn in MISNAMED:
                answers[fn] = CORRECT[fn].replace(f"def {fn}(", f"def {MISNAMED[fn]}(")
        out[name] = submission(name, answers)
    return out


# Runs at definition time (a default argument): when the grading process exits, it overwrites
# every file it can find where replies used to be written. It must change nothing.
FORGER = _src("""
    import atexit, glob
    def _sabotage(_=atexit.register(lambda: [open(p, "w").write("junk") for p in glob.glob("out/*")])):
        pass
""")


# -- whole submissions of a released course (demo, benchmark) --------------------------------
# A cheat: a wrong rule, plus every trick that fakes a pass in the student's own kernel.
CHEAT = ("sgd_l2_momentum_step", _src("""
    import numpy, torch
    torch.allclose = lambda *a, **k: True
    torch.testing.assert_close = lambda *a, **k: None
    numpy.testing.assert_allclose = lambda *a, **k: None
    try:
        import autograder.reference.checks as _hc
        _hc.check_rule = lambda *a, **k: None
        _hc.check_function = lambda *a, **k: None
    except Exception:
        pass

    def sgd_l2_momentum_step(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
        return theta, state
"""))


def mistake(kind: str) -> tuple[str, str]:
    """(function, source) of the typical mistake ``"<function>:<misconception>"``."""
    for fn, name, source in MISTAKES:
        if f"{fn}:{name}" == kind:
            return fn, source
    raise ValueError(f"kind must be 'correct', 'cheat' or one of "
                     f"{sorted(f'{fn}:{name}' for fn, name, _ in MISTAKES)}, got {kind!r}")


def make_submission(course: Course, kind: str) -> dict[str, NotebookNode]:
    """{notebook: node}: the course's released notebooks, solved with the instructor's own
    solutions, then made wrong in one function by ``kind`` ("correct", "cheat" or a mistake)."""
    function, source = (None, None) if kind == "correct" else CHEAT if kind == "cheat" \
        else mistake(kind)
    out = {}
    for notebook in course.cfg.notebooks:
        path = course.release_dir / f"{notebook}.ipynb"
        if not path.exists():
            continue
        solved = nbmeta.with_solutions(nbformat.read(path, as_version=4),
                                       nbformat.read(course.source_dir / f"{notebook}.ipynb",
                                                     as_version=4))
        if function and function in FUNCTIONS.get(notebook, ()):
            solved = fill(solved, {function: source})
        out[notebook] = solved
    return out


# Wraps the graded functions at definition time (a default argument) so that every call first
# writes a forged frame into every open file descriptor, the reply channel included: each such
# reply must cost its item, as a malformed reply, and never stop the grading.
CHANNEL_FORGER = _src("""
    import os

    def _wrap(fn):
        def forged(*args, **kwargs):
            for name in os.listdir("/proc/self/fd"):
                try:
                    os.write(int(name), b"\\x00\\x00\\x00\\x02{}")
                except OSError:
                    pass
            return fn(*args, **kwargs)
        return forged

    def _install(_=[globals().__setitem__(name, _wrap(f)) for name, f in list(globals().items())
                    if name in ("l2_to_decay", "sgd_l2_momentum_step", "sgdw_momentum_step",
                                "sgdw_equivalent_l2")]):
        pass
""")
