import pytest
import torch
from sklearn.linear_model import LogisticRegression

from data_gen import PRESETS, make_classification
from tests.conftest import DEVICES


def small(**kw):
    return make_classification(**{"n_train": 300, "n_val": 200, "n_test": 100, **kw})


def test_splits_shapes_and_types():
    d = small(n_informative=6, n_classes=3, nuisance_dims=2, seed=1)
    assert d.x_train.shape == (300, 8) and d.x_val.shape == (200, 8) and d.x_test.shape == (100, 8)
    assert d.y_train.dtype == torch.int64 and d.x_train.dtype == torch.float32
    assert d.n_classes == 3 and set(d.y_train.tolist()) == {0, 1, 2}


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = small(seed=3), small(seed=3), small(seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("device", DEVICES)
def test_identical_on_every_device(device):
    here, there = small(seed=5, dtype=torch.float64), small(seed=5, dtype=torch.float64, device=device)
    assert there.x_train.device.type == device
    assert torch.equal(here.x_train, there.x_train.cpu()) and torch.equal(here.y_test, there.y_test.cpu())


def linear_val_accuracy(d):
    model = LogisticRegression(max_iter=2000).fit(d.x_train.numpy(), d.y_train.numpy())
    return model.score(d.x_val.numpy(), d.y_val.numpy())


def test_difficulty_knob_orders_accuracy():
    """Harder presets must be harder for a fixed learner (logistic regression)."""
    acc = {name: linear_val_accuracy(small(difficulty=name, seed=2)) for name in PRESETS}
    assert acc["easy"] > acc["medium"] > acc["hard"], acc


def test_scale_spread_sets_feature_scale_ratio():
    d = make_classification(n_train=4000, n_val=10, n_test=10, nuisance_dims=0, label_noise=0.0,
                            scale_spread=100.0, seed=0, dtype=torch.float64)
    std = d.x_train.std(dim=0)
    assert 30 < (std.max() / std.min()).item() < 300


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_train=0), "n_train"), (dict(n_val=1.5), "n_val"), (dict(separation=0.0), "separation"),
    (dict(label_noise=1.5), "label_noise"), (dict(nuisance_dims=-1), "nuisance_dims"),
    (dict(n_classes=1), "n_classes"), (dict(scale_spread=0.5), "scale_spread"),
    (dict(difficulty="brutal"), "difficulty"), (dict(seed=-1), "seed"),
    (dict(dtype=torch.int32), "dtype"), (dict(device="tpu"), "device"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        small(**kwargs)
