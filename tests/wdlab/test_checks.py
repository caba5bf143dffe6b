"""wdlab.checks: the visible checks' helpers name what differs and by how much, catch in-place
changes of any argument, and stay silent when the code is right."""
import pytest
import torch

from autograder.reference import RULES
from wdlab import checks


def adam(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    return RULES["adam"](theta, grad, state, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)


def state():
    return {"m": torch.zeros(3, dtype=torch.float64), "v": torch.zeros(3, dtype=torch.float64)}


def test_close_passes_silently_and_reports_the_largest_difference(capsys):
    checks.close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-12], "pair")
    checks.close(0.05, 0.05, "scalar")
    assert capsys.readouterr() == ("", "")
    with pytest.raises(AssertionError, match=r"theta_1: largest difference 0\.5 at index 1 \(got 2\.5, "
                                             r"expected 2\)\. Hint: look at eps"):
        checks.close(torch.tensor([1.0, 2.5]), [1.0, 2.0], "theta_1", hint="look at eps")
    with pytest.raises(AssertionError, match="largest difference inf"):
        checks.close(torch.tensor([float("nan")]), [1.0], "nan")
    with pytest.raises(AssertionError, match=r"expected shape \(2,\), got \(3,\)"):
        checks.close(torch.zeros(3), [0.0, 0.0], "shape")
    with pytest.raises(AssertionError, match="expected a number or a tensor, got dict"):
        checks.close({"a": 1}, 1.0, "kind")


def test_rule_passes_copies_and_checks_the_reply():
    theta, grad, st = torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), state()
    new_theta, new_state = checks.rule(adam, theta, grad, st, 1, lr=0.1)
    assert torch.allclose(new_theta, theta - 0.1) and set(new_state) == {"m", "v"}
    assert torch.equal(theta, torch.ones(3, dtype=torch.float64))
    assert torch.equal(st["m"], torch.zeros(3, dtype=torch.float64))

    def no_pair(theta, grad, state, t, lr):
        return theta

    def lost_key(theta, grad, state, t, lr):
        return theta, {"m": state["m"]}

    with pytest.raises(AssertionError, match="must return a pair"):
        checks.rule(no_pair, theta, grad, st, 1, lr=0.1)
    with pytest.raises(AssertionError, match=r"new_state must be a dict with the keys \['m', 'v'\]"):
        checks.rule(lost_key, theta, grad, st, 1, lr=0.1)


@pytest.mark.parametrize("body, argument", [
    ("theta -= 1", "theta"),
    ("state['m'].mul_(2)", "state['m']"),
    ("state['m'] = state['m'] + 1", "state['m']"),
    ("state['extra'] = theta", "state had its keys changed"),
    ("grad.zero_()", "grad"),
])
def test_every_in_place_change_is_named(body, argument):
    namespace = {}
    exec(f"def rule(theta, grad, state, t, lr):\n    {body}\n    return theta + 0, dict(state)", namespace)
    theta, grad, st = torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), state()
    st["m"] = st["m"] + 1
    with pytest.raises(AssertionError, match="in place") as err:
        checks.rule(namespace["rule"], theta, grad, st, 1, lr=0.1)
    assert argument in str(err.value)
    assert torch.equal(theta, torch.ones(3, dtype=torch.float64))     # the caller's tensors are intact
    assert torch.equal(st["m"], torch.ones(3, dtype=torch.float64))


def test_same_dtype():
    checks.same_dtype(torch.ones(2), torch.zeros(2), "x")
    with pytest.raises(AssertionError, match="expected torch.float32 on cpu, got torch.float64"):
        checks.same_dtype(torch.ones(2, dtype=torch.float64), torch.zeros(2), "x")
