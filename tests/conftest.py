import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile("course", deadline=None, max_examples=15,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))]
