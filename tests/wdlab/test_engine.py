import platform
import subprocess
import sys

import numpy as np
import pytest
import torch

from wdlab import engine
from wdlab.model import MLP
from wdlab.train import setup

# Allocates a 24 MB tensor (a large sweep's temporaries are of that order) and prints how many
# bytes glibc served from fresh mmap regions, which page-fault on first touch every time, rather
# than from its reusable heap; argv[1] == "keep" applies the engine's setting first.
MAPPED = """
import ctypes, sys, torch
from wdlab import engine

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
if sys.argv[1] == "keep":
    assert engine.keep_freed_memory()
before = libc.mallinfo2().hblkhd
x = torch.ones(6 << 20)  # 24 MB of float32
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_bytes(mode):
    out = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True)
    if out.returncode and "mallinfo2" in out.stderr:
        pytest.skip("this C library has no mallinfo2 (glibc >= 2.33)")
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc's mallopt is Linux only")
def test_keep_freed_memory_serves_large_tensors_from_the_reusable_heap():
    assert mapped_bytes("default") >= 24 << 20  # glibc's default: a fresh mapping
    assert mapped_bytes("keep") == 0


STEPS = dict(steps=12, batch_size=50, seed=0)


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("hidden", [(16, 12), (40, 32)])  # small and large (per-configuration) GEMMs
def test_step_equals_the_models_loss_and_grad(small_data, layer_norm, hidden):
    assert hidden[0] * hidden[1] >= engine._PER_CONFIG_GEMM or hidden == (16, 12)
    model = MLP(8, hidden, 3, layer_norm=layer_norm)
    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(4, model.n_params, generator=gen, dtype=torch.float64) * 0.3
    x = small_data.x_train[:50].double().T.contiguous()
    onehot = torch.nn.functional.one_hot(small_data.y_train[:50], 3).double().T.contiguous()
    loss, grad = model.loss_and_grad(theta, x, onehot)
    buffer = torch.full_like(theta, float("nan"))
    ours, ours_grad = engine.Step(model)(theta, x, onehot, buffer)
    assert ours_grad is buffer  # written into the buffer it was given
    torch.testing.assert_close(ours, loss, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(ours_grad, grad, rtol=1e-12, atol=1e-14)


def _sgdw(theta, grad, state, t, lr, wd):
    return theta - lr * grad - wd * theta, state


class InPlaceSGDW:
    """A rule with an in-place version, as the instructor's fused rules carry one."""
    state = ()

    def __init__(self, factor=1.0):
        self.factor, self.calls = factor, 0

    def __call__(self, theta, grad, state, t, lr, wd):
        return _sgdw(theta, grad, state, t, lr, wd)

    def fused(self, theta, grad, state, t, lr, wd):
        self.calls += 1
        theta.mul_(1 - wd * self.factor).sub_(lr * grad)


def _run(rule, data, **kw):
    model, theta0, _ = setup(data, (16, 16), 0, "cpu", torch.float64)
    hp = {"lr": torch.tensor([[1e-2], [5e-2]], dtype=torch.float64), "wd": 1e-3}
    return engine.run(rule, data, model, theta0.expand(2, -1).clone(), hp, **STEPS, **kw), model


def test_a_rule_with_an_in_place_update_trains_through_it(small_data):
    rule = InPlaceSGDW()
    fused, _ = _run(rule, small_data)
    generic, _ = _run(_sgdw, small_data)
    assert fused.fused and not generic.fused and rule.calls == STEPS["steps"]
    torch.testing.assert_close(fused.theta, generic.theta, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(fused.train_loss, generic.train_loss, rtol=1e-12, atol=1e-14)
    ignored, _ = _run(InPlaceSGDW(), small_data, fused=False)
    assert not ignored.fused


def test_an_in_place_update_that_disagrees_is_dropped(small_data):
    with pytest.warns(RuntimeWarning, match="differs from the rule itself"):
        wrong, _ = _run(InPlaceSGDW(factor=3.0), small_data)
    generic, _ = _run(_sgdw, small_data)
    assert not wrong.fused
    torch.testing.assert_close(wrong.theta, generic.theta, rtol=0, atol=0)


@pytest.mark.parametrize("rule", [_sgdw, InPlaceSGDW()])
def test_frozen_tail_keeps_its_initial_values_and_is_not_shown_to_the_rule(small_data, rule):
    seen = []

    def spy(theta, grad, state, t, lr, wd):
        seen.append(theta.shape[1])
        return _sgdw(theta, grad, state, t, lr, wd)

    n = 16 * 3 + 3  # the readout of a 16-16 MLP with 3 classes
    result, model = _run(rule if rule is not _sgdw else spy, small_data, frozen_tail=n)
    theta0 = model.init(0, torch.float64)
    assert torch.equal(result.theta[:, -n:], theta0[:, -n:].expand(2, -1))
    assert not torch.equal(result.theta[:, :-n], theta0[:, :-n].expand(2, -1))
    assert rule is not _sgdw or set(seen) == {model.n_params - n}
    with pytest.raises(ValueError, match="frozen_tail must be an integer"):
        _run(rule, small_data, frozen_tail=model.n_params)


def test_a_run_uses_one_intra_op_thread_and_restores_the_setting(small_data):
    seen = []

    def spy(theta, grad, state, t, lr, wd):
        seen.append(torch.get_num_threads())
        return _sgdw(theta, grad, state, t, lr, wd)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _run(spy, small_data)
        assert set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_progress_counts_every_step(small_data):
    ticks = []
    _run(_sgdw, small_data, progress=ticks.append)
    assert ticks == [1] * STEPS["steps"] and np.sum(ticks) == 12
