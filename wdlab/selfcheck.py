"""Ungraded self-check questions: the notebook asks, this module answers.

Each notebook poses a few short questions (multiple choice or a number) in the spirit of d2l's
exercises and CS231n's inline questions. The question is written in the notebook; a code cell
under it holds ``answer = None`` and ``selfcheck.check("<id>", answer)``. The answers and their
explanations live in ``QUESTIONS`` below, out of sight while the notebook is read (a student who
opens this file sees them: the questions earn no points). ``check`` only prints: it never raises
and never writes to stderr.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    """One self-check: ``answer`` is an option letter ("a", "b", ...) or a number; ``why`` is the
    explanation shown once the answer is right; ``hints`` says what a wrong option gets wrong;
    ``rtol`` is the relative tolerance of a numeric answer."""
    answer: str | float
    why: str
    hints: dict[str, str] = field(default_factory=dict)
    rtol: float = 0.02


QUESTIONS: dict[str, Question] = {
    # notebook 01
    "01-idle-weight": Question(
        0.999,
        "SGD on f + (l2/2)||theta||^2 multiplies theta by 1 - lr * l2 = 1 - 0.1 * 0.01 = 0.999 per "
        "step (Proposition 1: lambda = lr * l2 = 1e-3).", rtol=1e-5),
    "01-problem-set-momentum": Question(
        "c",
        "Write beta = 1 - beta1_ps = 0.9. The problem set's buffer m = beta * m + (1 - beta) * g, "
        "multiplied by lr, obeys lr * m = beta * (lr * m) + lr * beta1_ps * g: this course's buffer "
        "with the learning rate lr * beta1_ps = 0.1 * 0.1 = 0.01 and beta1 = 0.9.",
        {"a": "beta1 plays opposite roles in the two conventions: 0.1 there weights the new gradient.",
         "b": "Right momentum, but the problem set also scales the step: its new gradient enters "
              "with weight beta1_ps = 0.1.",
         "d": "The step gets smaller, not larger: the new gradient is weighted by beta1_ps = 0.1."}),
    "01-double-lr-sgdw": Question(
        "b",
        "SGDW shrinks theta by eta * w per step whatever lr is. Its fixed point is the L2 minimizer "
        "for lambda' = (1 - beta1) w / lr: doubling lr halves that coefficient, because the "
        "gradient part of the step doubled while the decay did not.",
        {"a": "That is SGD + L2, where the shrinkage is lr * l2. SGDW's decay is not multiplied by lr.",
         "c": "The steps do not change their decay, but the balance between gradient step and decay "
              "does: look at lambda' = (1 - beta1) w / lr.",
         "d": "lambda' = (1 - beta1) w / lr falls when lr grows."}),
    "01-equivalent-l2": Question(
        1e-3,
        "lambda' = (1 - beta1) w / lr = 0.1 * 5e-4 / 0.05 = 1e-3 (Question 3)."),
    # notebook 02
    "02-torch-first-step": Question(
        10.0,
        "torch.optim.RMSprop divides by sqrt(v_1) = sqrt(1 - beta2) |g_1| = 0.1 |g_1|, the "
        "bias-corrected rule by sqrt(v_hat_1) = |g_1|: the first step is 1 / sqrt(1 - 0.99) = 10 "
        "times larger."),
    "02-m-is-k-identity": Question(
        "b",
        "M_t = Diag(v_hat_t)^(-1/2) is k I exactly when every coordinate has the same "
        "bias-corrected mean square gradient v_hat_t,i (then k = v_hat_t,1^(-1/2)).",
        {"a": "It can happen: a diagonal matrix is k I when its entries are equal.",
         "c": "beta2 only sets how far back the average looks; the coordinates still differ.",
         "d": "RMSProp keeps only the diagonal of G_t, so the directions of the gradients do not "
              "matter, only each coordinate's mean square."}),
    "02-crossover": Question(
        1.0,
        "Matched by lambda = lr * l2, decay pulls coordinate i with (lambda / lr) s_i = l2 * s_i "
        "and L2 with l2: the two are equal at s_i = 1. Above it L2 pulls less than decay, below "
        "it more. The crossover is where the matching puts it, not a property of the weights."),
    "02-rotation": Question(
        "b",
        "The full matrix G_t becomes R G_t R^T under a rotation, and so does any function of it "
        "such as its inverse square root. The diagonal of R G_t R^T is not the rotated diagonal.",
        {"a": "Only for permutations and sign flips: measure it in the cell of Section 6.",
         "c": "Keeping only the diagonal breaks the equivariance (the measured error was about 0.1).",
         "d": "The full-matrix method is equivariant: the measured error was at rounding level."}),
    # notebook 03
    "03-first-adam-step": Question(
        1e-3,
        "At t = 1, m_hat_1 = g_1 and sqrt(v_hat_1) = |g_1|, so the step is lr * sign(g_1): the "
        "coordinate moves by 1e-3 against its gradient, whatever the gradient's size (here it "
        "increases by 1e-3)."),
    "03-l2-small-gradient": Question(
        "b",
        "The penalty's gradient l2 * theta is divided by sqrt(v_hat) like the loss gradient, so "
        "its effect per step is lr * l2 * theta / sqrt(v_hat): largest where the gradients are small.",
        {"a": "Large gradients make sqrt(v_hat) large, and the penalty is divided by it.",
         "c": "That is decoupled decay (AdamW), not L2 inside Adam.",
         "d": "The penalty goes through Adam's normalization, so the gradient history matters."}),
    "03-why-uniform": Question(
        "b",
        "Adam's step m_hat / sqrt(v_hat) does not change when one coordinate's gradients are "
        "multiplied by a constant, and decoupled decay never looks at the gradient. So AdamW "
        "treats the two coordinates alike, whatever their curvature.",
        {"a": "The curvatures differ by a factor 100 in the picture.",
         "c": "The paper's AdamW does not multiply the decay by lr, and that would not make it depend "
              "on the gradient either.",
         "d": "beta2 sets how long v_hat averages, for both methods alike."}),
    "03-torch-to-paper": Question(
        1e-4,
        "torch.optim.AdamW decays by lr * weight_decay per step: w = 2e-3 * 0.05 = 1e-4; its "
        "timescale is tau = 1 / w = 10,000 steps."),
    # notebook 04
    "04-first-adamax-step": Question(
        -2e-3,
        "At t = 1, m_1 = (1 - beta1) g_1 is divided by 1 - beta1^1 = 1 - beta1, giving g_1, and "
        "u_1 = |g_1|: the step is lr * sign(g_1), so the coordinate decreases by 0.002 whatever the "
        "gradient's size, as Adam's first step does."),
    "04-rotation-invariant": Question(
        "b",
        "SGD, momentum and Nesterov update theta with linear combinations of gradients; rotating "
        "the problem rotates every gradient and every step alike, so the path is the rotated path "
        "and the step count is unchanged. Adagrad, RMSProp and Adam divide coordinate by "
        "coordinate, which does not commute with a rotation.",
        {"a": "Their per-coordinate scaling is what the rotation defeats: they need more steps.",
         "c": "A rotation leaves the steps of methods built from sums of gradients unchanged.",
         "d": "The bias correction is the same scalar for every coordinate; Adam still divides "
              "coordinate by coordinate."}),
    "04-threshold-zero": Question(
        "c",
        "The Adam step moves the weight to 0.004 - 0.01 = -0.006 (the first step is lr against the "
        "gradient's sign); the threshold eta * l1 = 0.02 is larger than |-0.006|, so the weight "
        "becomes exactly 0.",
        {"a": "That subtracts eta * l1 * sign(theta) without stopping at zero: the weight crosses "
              "zero to the other side. The soft threshold stops at 0.",
         "b": "That is the Adam step alone: the threshold of 0.02 still has to be applied.",
         "d": "The threshold is eta * l1 = 0.02, not lr * l1: it is decoupled from the learning rate."}),
}


def _letter(answer: object) -> str | None:
    return answer.strip().lower().strip("()") if isinstance(answer, str) else None


def check(question_id: str, answer: object) -> None:
    """Print whether ``answer`` to self-check ``question_id`` is right, with the explanation
    when it is and a hint when it is not. ``None`` means "not answered yet"."""
    if question_id not in QUESTIONS:
        print(f"Unknown self-check {question_id!r}; known: {', '.join(QUESTIONS)}")
        return
    q = QUESTIONS[question_id]
    if answer is None or answer is Ellipsis:
        kind = "an option letter such as \"a\"" if isinstance(q.answer, str) else "a number"
        print(f"Self-check (not graded): set answer to {kind} and run this cell again.")
        return
    if isinstance(q.answer, str):
        given = _letter(answer)
        if given == q.answer:
            print(f"Correct ({q.answer}). {q.why}")
        elif given in q.hints:
            print(f"Not ({given}): {q.hints[given]} Try again.")
        else:
            print(f"{answer!r} is not one of the options; answer with a letter such as \"a\".")
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        print(f"Answer with a number, got {answer!r}.")
        return
    if math.isclose(value, float(q.answer), rel_tol=q.rtol, abs_tol=0.0):
        print(f"Correct ({value:g}). {q.why}")
    else:
        print(f"Not {value:g}. Write down the formula first, then put in the numbers; try again.")
