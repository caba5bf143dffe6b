"""The hidden tests' helper: which cases check_rule builds, and what it refuses."""
import importlib

import pytest
import torch

from autograder.reference import RULES
from autograder.reference.checks import _cases, check_rule, forbid_torch_optim


def by_keyword(rule):
    def fn(theta, grad, state, t, **hp):
        return rule(theta, grad, state, t, **hp)
    return fn


FAMILY = [
    ("adagrad", dict(lr=(1e-3, 0.1), eps=1e-10)),
    ("adamax", dict(lr=(1e-3, 0.1), beta1=0.9, beta2=(0.9, 0.999), eps=1e-8)),
    ("nadam", dict(lr=(1e-3, 0.1), beta1=0.9, beta2=0.999, momentum_decay=(1e-3, 1e-2))),
    ("adamw_l1", dict(lr=(1e-3, 0.1), l1=(1e-4, 1e-2), beta1=0.9)),
]


@pytest.mark.parametrize("name, hparams", FAMILY, ids=[n for n, _ in FAMILY])
def test_check_rule_accepts_the_family_references(name, hparams):
    check_rule(by_keyword(RULES[name]), name, steps=3, **hparams)


def test_l1_is_set_to_zero_once_and_gridded_with_lr():
    labels = [label for label, *_ in _cases({"lr": (1e-3, 0.1), "l1": (1e-4, 1e-2)}, seed=0)]
    assert "l1=0" in labels
    assert "lr and l1 as [3, 1] tensors over theta [3, 4]" in labels
    grid = next(hp for label, _, hp, _ in _cases({"lr": 0.01, "l1": 0.001}, seed=0) if "[3, 1]" in label)
    assert grid["l1"].shape == (3, 1) and grid["lr"].shape == (3, 1)


def test_regularizers_name_which_hyperparameters_are_varied():
    hparams = {"lr": 0.01, "l1": 0.001, "beta1": 0.9}
    labels = [label for label, *_ in _cases(hparams, seed=0, regularizers=("beta1",))]
    assert "beta1=0" in labels and "l1=0" not in labels
    assert "lr and beta1 as [3, 1] tensors over theta [3, 4]" in labels


def test_a_rule_that_handles_only_one_l1_is_caught_by_the_grid():
    def scalar_l1_only(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        l1 = l1.flatten()[0] if torch.is_tensor(l1) else l1   # ignores all configurations but one
        return RULES["adamw_l1"](theta, grad, state, t, lr=lr, l1=l1, beta1=beta1, beta2=beta2,
                                 eps=eps, eta=eta)
    with pytest.raises(AssertionError, match=r"lr and l1 as \[3, 1\] tensors"):
        check_rule(scalar_l1_only, "adamw_l1", steps=3, lr=(1e-3, 0.1), l1=(1e-4, 1e-2))


def test_a_rule_that_breaks_without_l1_is_caught_by_the_zero_case():
    def zero_means_default(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        if not torch.is_tensor(l1) and l1 == 0:
            l1 = 1e-3   # "no strength given": right for every l1 but 0
        return RULES["adamw_l1"](theta, grad, state, t, lr=lr, l1=l1, beta1=beta1, beta2=beta2,
                                 eps=eps, eta=eta)
    with pytest.raises(AssertionError, match="l1=0"):
        check_rule(zero_means_default, "adamw_l1", steps=3, lr=(1e-3, 0.1), l1=(1e-4, 1e-2))


def test_regularizers_must_be_a_tuple_of_names():
    with pytest.raises(TypeError, match=r"regularizers=\('l1',\)"):
        check_rule(by_keyword(RULES["adamw_l1"]), "adamw_l1", regularizers="l1", lr=0.01, l1=0.001)


@pytest.mark.parametrize("module, kernel", [
    ("adagrad", "adagrad"), ("adagrad", "_single_tensor_adagrad"), ("adamax", "_multi_tensor_adamax"),
    ("nadam", "nadam"), ("radam", "radam"), ("_functional", "adamax"), ("_functional", "nadam"),
])
def test_the_family_kernels_of_torch_optim_are_refused(module, kernel):
    owner = importlib.import_module(f"torch.optim.{module}")
    original = getattr(owner, kernel)
    with forbid_torch_optim():
        with pytest.raises(AssertionError, match="not torch.optim"):
            getattr(owner, kernel)()
    assert getattr(owner, kernel) is original
