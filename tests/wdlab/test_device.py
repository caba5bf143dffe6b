import pytest
import torch

from wdlab.device import resolve_device


def test_auto_picks_cuda_only_when_present():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("gpu")
