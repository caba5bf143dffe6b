"""Attacks on the trusted verdict, one class each: what the student's code can reach.

Every submission below is correct except for its attack, so a point it keeps or loses shows the
attack's effect. One module fixture grades them all through the real sandboxed executor.
"""
import dataclasses
import socket
import textwrap

import nbformat
import pytest

from autograder.isolation import sandbox
from autograder.isolation.treecap import TreeCap
from autograder.tools import submissions as corpus
from autograder.trusted import pipeline
from course_config import CONFIG

pytestmark = [pytest.mark.filterwarnings("ignore::autograder.isolation.sandbox.SandboxWarning"),
              pytest.mark.skipif(sandbox.bwrap_path() is None,
                                 reason="the attacks are tried against the bubblewrap sandbox")]
FAST = dataclasses.replace(CONFIG, cell_timeout_s=4, memory_cap_mb=2048, disk_cap_mb=64)
NB1, NB2, NB3, NB4 = CONFIG.notebooks


def src(text):
    return textwrap.dedent(text).strip() + "\n"


def with_body(fn, signature, body):
    """A correct function ``fn`` whose call first runs ``body`` (the attack)."""
    return corpus.CORRECT[fn].replace(f"def {fn}{signature}:\n",
                                      f"def {fn}{signature}:\n{textwrap.indent(src(body), '    ')}")


SGD_SIG = "(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0)"
ADAM_SIG = "(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0)"

# Delegation to torch.optim by routes a stub of torch.optim's attributes does not close.
DELEGATION = {
    "adam_step": src("""
        from torch.optim.adam import Adam

        def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            p = torch.nn.Parameter(theta.clone())
            opt = Adam([p], lr=float(eta * lr), betas=(beta1, beta2), eps=eps)
            opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": state["m"].clone(),
                            "exp_avg_sq": state["v"].clone()}
            p.grad = grad.clone()
            opt.step()
            return p.detach(), {"m": opt.state[p]["exp_avg"], "v": opt.state[p]["exp_avg_sq"]}
    """),
    "adamw_step": src("""
        def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            cls = [c for c in torch.optim.Optimizer.__subclasses__() if c.__name__ == "AdamW"][0]
            p = torch.nn.Parameter(theta.clone())
            opt = cls([p], lr=float(eta * lr), betas=(beta1, beta2), eps=eps,
                      weight_decay=float(wd / lr))
            opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": state["m"].clone(),
                            "exp_avg_sq": state["v"].clone()}
            p.grad = grad.clone()
            opt.step()
            return p.detach(), {"m": opt.state[p]["exp_avg"], "v": opt.state[p]["exp_avg_sq"]}
    """),
    "adam_l2_step": src("""
        def _kernel():
            return torch.ops.aten._fused_adam_

        def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            _kernel()
            g = grad + l2 * theta
            m = beta1 * state["m"] + (1 - beta1) * g
            v = beta2 * state["v"] + (1 - beta2) * g * g
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
    """),
}

# The fourth notebook's rules, delegated by a name built at run time and by a functional kernel
# (both compute the right numbers).
DELEGATION_FAMILY = {
    "adamax_step": src("""
        def adamax_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            cls = getattr(torch.optim, "Ada" + "max")
            p = torch.nn.Parameter(theta.clone())
            opt = cls([p], lr=float(eta * lr), betas=(beta1, beta2), eps=eps)
            opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": state["m"].clone(),
                            "exp_inf": state["u"].clone()}
            p.grad = grad.clone()
            opt.step()
            return p.detach(), {"m": opt.state[p]["exp_avg"], "u": opt.state[p]["exp_inf"]}
    """),
    "adamw_l1_step": src("""
        from torch.optim import _functional as F

        def adamw_l1_step(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            params, m, v = [theta.clone()], [state["m"].clone()], [state["v"].clone()]
            F.adam(params, [grad], m, v, [], [torch.tensor(float(t - 1))], amsgrad=False, beta1=beta1,
                   beta2=beta2, lr=float(eta * lr), weight_decay=0.0, eps=eps, maximize=False)
            z = params[0]
            return z.sign() * torch.clamp(z.abs() - eta * l1, min=0), {"m": m[0], "v": v[0]}
    """),
}

# Definition-time code (a decorator, a default value) that patches everything it can reach in
# its own process: the comparison helpers and the executor. The rule changes theta in place.
PATCHER = src("""
    import sys

    def _patch_everything(fn):
        torch.equal = lambda *a, **k: True
        torch.Tensor.__eq__ = lambda *a, **k: True
        main = sys.modules["__main__"]
        try:  # the executor's own methods: whatever checks they might hold
            main.Executor.changed = lambda self, *a, **k: []
            main.Executor.same = lambda self, *a, **k: True
            main.Executor.step_reply = lambda self, result, keys: (
                {"dtype": str(result[0].dtype), "device": "cpu", "mutated": []},
                {"theta": result[0].numpy().copy(), **{f"state.{k}": result[1][k].numpy().copy()
                                                        for k in keys}})
        except AttributeError:
            pass
        return fn

    @_patch_everything
    def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        m = beta1 * state["m"] + (1 - beta1) * grad
        v = beta2 * state["v"] + (1 - beta2) * grad * grad
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        theta -= eta * lr * m_hat / (v_hat.sqrt() + eps)
        return theta, {"m": m, "v": v}
""")

# Slow on purpose, while rewriting every progress file it can find (the old watchdog's clock).
SLOW = with_body("sgd_l2_momentum_step", SGD_SIG, """
    import glob, time
    for path in glob.glob("**/progress*", recursive=True) + glob.glob("/tmp/**/progress*"):
        open(path, "a").write(f"start fake{t}\\n")
    time.sleep(0.5)
""")


def just_under(fn, signature, seconds):
    """Each graded call of ``fn`` sleeps once for ``seconds``, then the function is correct."""
    return with_body(fn, signature, f"""
        import time
        global _SLEPT_{fn}
        if not globals().get("_SLEPT_{fn}"):
            _SLEPT_{fn} = True
            time.sleep({seconds})
    """)


# Three children of 1 GB each at once: over the 2 GB cap of the tree, under each one's own.
MEMORY_TREE = with_body("sgdw_momentum_step", "(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0)", """
    import os, time
    global _FORKED
    if not globals().get("_FORKED"):
        _FORKED = True
        for _ in range(3):
            if os.fork() == 0:
                block = bytearray(1000 * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(1)
                os._exit(0)
        for _ in range(3):
            os.wait()
""")

DISK = with_body("adam_step", ADAM_SIG, """
    global _FILLED
    written = 0
    for folder in () if globals().get("_FILLED") else (".", "/tmp"):
        try:
            with open(f"{folder}/fill.bin", "wb") as f:
                while written < (600 << 20):
                    f.write(b"x" * (1 << 20))
                    written += 1 << 20
        except OSError:
            pass
    _FILLED = True
    if written >= (600 << 20):
        return theta * 0, state
""")

DEEP_TREE = with_body("cosine_warm_restarts", "(t, period, mult=1, eta_min=0.0, eta_max=1.0)", """
    import os
    start = os.getcwd()
    if not os.path.exists(os.path.join(start, "deep")):
        path = "deep"
        for _ in range(4000):
            os.mkdir(path)
            os.chdir(path)
            path = "d"
        os.chdir(start)
""")


def network(port):
    return with_body("l2_to_decay", "(lr, l2)", f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"leak")
            return -1.0
        except OSError:
            pass
    """)


# The executor's own process, turned against the grader (each correct otherwise).
TRUNCATE_ARENA = with_body("adam_step", ADAM_SIG, """
    import os, sys
    os.truncate(sys.argv[1], 0)
""")
WRONG_SHAPE = corpus.CORRECT["sgdw_momentum_step"].replace(
    'return theta - m - eta * wd * theta, {"m": m}',
    'return (theta - m - eta * wd * theta).flatten(), {"m": m.flatten()}')
HUGE_REPLY = with_body("cosine_warm_restarts", "(t, period, mult=1, eta_min=0.0, eta_max=1.0)", """
    return torch.zeros(8_000_000, dtype=torch.float64)
""")
HALF = with_body("l2_to_decay", "(lr, l2)", """
    import numpy
    if isinstance(lr, float):
        return numpy.float16(lr * l2)
""")
BAD_FIELDS = src("""
    import sys

    def _forge_replies(fn):
        main = sys.modules["__main__"]
        original = main.Executor.handle
        def handle(self, request, blobs):
            reply, arrays = original(self, request, blobs)
            if request.get("op") == "call":
                reply = {"blocked_calls": 5, "missing": True, "types": None}
            return reply, arrays
        main.Executor.handle = handle
        return fn

    @_forge_replies
    def rmsprop_preconditioner(grads, beta2):
        return grads
""")
# Stops reading as soon as a request is larger than a pipe holds: the next notebook's code.
STOP_READING = with_body("sgdw_equivalent_l2", "(lr, wd, beta1)", """
    import json, sys, time
    P = sys.modules["__main__"].P
    if not getattr(P, "_stopper", False):
        P._stopper = True
        def read_frame(fd, deadline=None, max_header=0, max_frame=0):
            (length,) = P._LEN.unpack(P._read_exact(fd, 4, None))
            if length > 60000:
                time.sleep(3600)
            header = json.loads(P._read_exact(fd, length, None))
            return header, {s["name"]: (s, P._read_exact(fd, s["nbytes"], None))
                            for s in header["arrays"]}
        P.read_frame = read_frame
""")
BIG_CELL = "PADDING = '" + "x" * 200_000 + "'\n"


@pytest.fixture(scope="module")
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    yield server
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    tmp = tmp_path_factory.mktemp("attacks")

    def write(student, notebooks):
        return {name: corpus.write(nb, tmp / student / f"{name}.ipynb") for name, nb in notebooks.items()}

    port = listener.getsockname()[1]
    subs = {
        "delegation": write("delegation", {NB3: corpus.submission(NB3, DELEGATION),
                                           NB4: corpus.submission(NB4, DELEGATION_FAMILY)}),
        "patcher": write("patcher", {NB3: corpus.submission(NB3, {"adam_step": PATCHER})}),
        "slow": write("slow", {NB1: corpus.submission(NB1, {"sgd_l2_momentum_step": SLOW})}),
        "disk_and_tree": write("disk_and_tree", {NB3: corpus.submission(
            NB3, {"adam_step": DISK, "cosine_warm_restarts": DEEP_TREE})}),
        "network": write("network", {NB1: corpus.submission(NB1, {"l2_to_decay": network(port)})}),
        "executor_abuse": write("executor_abuse", {
            NB1: corpus.submission(NB1, {"sgdw_momentum_step": WRONG_SHAPE, "l2_to_decay": HALF}),
            NB2: corpus.submission(NB2, {"rmsprop_preconditioner": BAD_FIELDS}),
            NB3: corpus.submission(NB3, {"adam_step": TRUNCATE_ARENA,
                                         "cosine_warm_restarts": HUGE_REPLY})}),
    }
    verdicts = pipeline.grade_batch(subs, config=FAST, workers=2)
    verdicts["memory"] = pipeline.grade_submission(  # alone: the 3 GB must not slow the others
        write("memory", {NB1: corpus.submission(NB1, {"sgdw_momentum_step": MEMORY_TREE})}),
        dataclasses.replace(FAST, cell_timeout_s=30), student="memory")
    stop = corpus.submission(NB1, {"sgdw_equivalent_l2": STOP_READING})
    big = corpus.submission(NB2)
    big.cells.append(nbformat.v4.new_code_cell(BIG_CELL))
    verdicts["stop_reading"] = pipeline.grade_submission(
        write("stop_reading", {NB1: stop, NB2: big}),
        dataclasses.replace(FAST, submission_budget_s=20), student="stop_reading")
    budget = dataclasses.replace(FAST, submission_budget_s=8)
    slowish = {fn: just_under(fn, sig, 3) for fn, sig in [
        ("l2_to_decay", "(lr, l2)"), ("sgd_l2_momentum_step", SGD_SIG),
        ("sgdw_momentum_step", "(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0)"),
        ("sgdw_equivalent_l2", "(lr, wd, beta1)")]}
    verdicts["budget"] = pipeline.grade_submission(
        write("budget", {NB1: corpus.submission(NB1, slowish)}), budget, student="budget")
    return verdicts


def items(v):
    return {i.item.name: i for i in v.items}


def test_delegating_to_torch_optim_by_any_route_scores_nothing(graded):
    v = graded["delegation"]
    got = items(v)
    for fn in [*DELEGATION, *DELEGATION_FAMILY]:
        assert got[fn].score == 0 and got[fn].misconception == "delegates_to_torch_optim", \
            (fn, got[fn].message)
    assert v.flags["forbidden_call"]
    for fn in ("cosine_warm_restarts", "adagrad_step", "nadam_step"):
        assert got[fn].score == got[fn].max_score, (fn, got[fn].message)


def test_definition_time_patches_cannot_hide_an_in_place_update(graded):
    v = graded["patcher"]
    adam = items(v)["adam_step"]
    assert adam.score == 0 and adam.misconception == "inputs_changed_in_place", adam.message
    assert items(v)["adamw_step"].score == items(v)["adamw_step"].max_score


def test_deadlines_come_from_the_graders_clock(graded):
    v = graded["slow"]
    got = items(v)
    assert got["sgd_l2_momentum_step"].score == 0 and v.flags["timeout"]
    assert "time limit" in got["sgd_l2_momentum_step"].message
    assert got["sgdw_momentum_step"].score == got["sgdw_momentum_step"].max_score


def test_a_submission_has_a_wall_budget(graded):
    v = graded["budget"]
    got = items(v)
    assert v.flags["timeout"]
    late = [fn for fn, item in got.items() if "time budget" in item.message]
    assert late and all(got[fn].score == 0 for fn in late), {fn: i.message for fn, i in got.items()}
    # each function alone is within its own limit: what was graded before the budget ran out
    # is graded normally
    assert all(i.score == i.max_score for fn, i in got.items() if fn not in late), \
        {fn: i.message for fn, i in got.items()}


def test_memory_is_capped_for_the_whole_process_tree(graded):
    cap = TreeCap.create(64, 8)
    if cap is None:
        pytest.skip("no writable cgroup here: memory is capped per process only")
    cap.close()
    v = graded["memory"]
    got = items(v)
    assert got["sgdw_momentum_step"].score == 0 and v.flags["memory"], v.reasons
    assert got["l2_to_decay"].score == got["l2_to_decay"].max_score


def test_disk_is_capped_and_deep_trees_are_harmless(graded):
    v = graded["disk_and_tree"]
    got = items(v)
    assert got["adam_step"].score == got["adam_step"].max_score, got["adam_step"].message
    assert got["cosine_warm_restarts"].score == got["cosine_warm_restarts"].max_score, \
        got["cosine_warm_restarts"].message
    assert not v.flags["crashed"], v.reasons


def test_student_code_has_no_network(graded, listener):
    got = items(graded["network"])
    assert got["l2_to_decay"].score == got["l2_to_decay"].max_score, got["l2_to_decay"].message
    with pytest.raises(OSError):
        listener.accept()


def test_the_executor_turned_against_the_grader_costs_only_its_items(graded):
    """Truncating the shared arena, replies of the wrong shape, size, dtype or field types: each
    costs the item that did it; the grader survives and grades the rest."""
    v = graded["executor_abuse"]
    got = items(v)
    assert got["adam_step"].score == 0                      # the truncated arena reads as changed
    shape = got["sgdw_momentum_step"]   # right on 1-D cases (flatten is a no-op there), not on 2-D
    assert 0 < shape.score < shape.max_score and "shape" in shape.message, shape.message
    assert got["cosine_warm_restarts"].score == 0 and "malformed" in got["cosine_warm_restarts"].message
    for fn in ("rmsprop_step", "rmsprop_preconditioner"):  # the forged replies: its whole notebook
        assert got[fn].score == 0 and "malformed" in got[fn].message, got[fn].message
    assert "malformed" not in got["l2_to_decay"].message    # float16 is a value, not a crash
    for fn in ("sgd_l2_momentum_step", "sgdw_equivalent_l2", "adam_l2_step", "adamw_step"):
        assert got[fn].score == got[fn].max_score, (fn, got[fn].message)


def test_an_executor_that_stops_reading_cannot_hang_the_grader(graded):
    v = graded["stop_reading"]
    got = items(v)
    assert v.flags["timeout"]
    assert all(got[fn].score == 0 for fn in ("rmsprop_step", "rmsprop_preconditioner")), \
        {fn: i.message for fn, i in got.items()}
    assert got["l2_to_decay"].score == got["l2_to_decay"].max_score
