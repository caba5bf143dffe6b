import pytest
import torch

import data_gen


@pytest.fixture(scope="session")
def small_data():
    """A quick classification problem: 300 training points, 8 features, 3 classes."""
    torch.set_num_threads(1)  # tiny tensors: threads only add synchronisation on a shared machine
    return data_gen.make_classification(n_train=300, n_val=200, n_test=10, n_informative=8,
                                        n_classes=3, seed=3)
