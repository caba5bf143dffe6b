# Shared text of the hidden-test helpers, embedded in each hidden-tests region.
HELPER = r'''
import importlib
from autograder.reference import RULES
from course_config import CONFIG


def _cases(student_hp, steps=6):
    """(theta, grads, hp) cases: random shapes, tiny and huge gradients, tensor hyperparameters."""
    gen = torch.Generator().manual_seed(11)
    out = []
    for scale, shape in [(1.0, (7,)), (1e-9, (3, 4)), (1e5, (2, 3, 2)), (0.3, (4, 6))]:
        theta = torch.randn(shape, generator=gen, dtype=torch.float64)
        grads = scale * torch.randn((steps, *shape), generator=gen, dtype=torch.float64)
        out.append((theta, grads, dict(student_hp)))
    # A grid of two configurations at once: hyperparameters as [2, 1] tensors.
    theta = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    grads = torch.randn(steps, 2, 5, generator=gen, dtype=torch.float64)
    grid = {k: torch.tensor([[v], [v * 3.0]], dtype=torch.float64) if k in ("lr", "l2", "wd") else v
            for k, v in student_hp.items()}
    out.append((theta, grads, grid))
    return out


def _trajectory(rule, theta, grads, hp, state_keys):
    state = {k: torch.zeros_like(theta) for k in state_keys}
    thetas, states = [], []
    for t in range(1, grads.shape[0] + 1):
        theta, state = rule(theta, grads[t - 1], state, t, **hp)
        thetas.append(theta)
        states.append(state)
    return thetas, states


def _compare(student, reference, hp, state_keys):
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dtype in (torch.float32, torch.float64):
            rtol, atol = CONFIG.tolerances[str(dtype).removeprefix("torch.")]
            for i, (theta, grads, case_hp) in enumerate(_cases(hp)):
                cast = lambda x: x.to(device=device, dtype=dtype) if torch.is_tensor(x) else x
                theta, grads = cast(theta), cast(grads)
                case_hp = {k: cast(v) for k, v in case_hp.items()}
                mine, my_states = _trajectory(student, theta, grads, case_hp, state_keys)
                ref, ref_states = _trajectory(reference, theta, grads, case_hp, state_keys)
                for t, (a, b) in enumerate(zip(mine, ref), start=1):
                    where = f"case {i}, {dtype}, {device}, step {t}"
                    assert a.dtype == dtype and a.device.type == device, f"{where}: dtype/device changed"
                    assert torch.allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(b.abs().max()))), \
                        f"{where}: theta differs from the expected update"
                    for k in state_keys:
                        s, r = my_states[t - 1][k], ref_states[t - 1][k]
                        assert torch.allclose(s, r, rtol=rtol, atol=atol * max(1e-30, float(r.abs().max()))), \
                            f"{where}: state[{k!r}] differs"


def _blocked(*args, **kwargs):
    raise AssertionError("write the update with tensor operations; torch.optim may not be called")


def _without_torch_optim(fn):
    """Run fn() with torch.optim's optimizers and Adam kernels disabled."""
    patches = [(torch.optim.Optimizer, "__init__")]
    for name in ("torch.optim.adam", "torch.optim.adamw", "torch.optim._functional"):
        module = importlib.import_module(name)
        patches += [(module, attr) for attr in dir(module)
                    if attr.lower().lstrip("_") in ("adam", "adamw", "single_tensor_adam",
                                                    "multi_tensor_adam", "fused_adam")]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr in patches]
    try:
        for obj, attr, _ in saved:
            setattr(obj, attr, _blocked)
        return fn()
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


def _inputs_untouched(rule, hp, state_keys):
    theta, grad = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    state = {k: torch.rand(4, 3, dtype=torch.float64) for k in state_keys}
    copies = (theta.clone(), grad.clone(), {k: v.clone() for k, v in state.items()})
    _without_torch_optim(lambda: rule(theta, grad, state, 3, **hp))
    assert torch.equal(theta, copies[0]) and torch.equal(grad, copies[1]), "theta/grad modified in place"
    assert all(torch.equal(state[k], copies[2][k]) for k in state_keys), "state modified in place"
'''
