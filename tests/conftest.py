import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile("course", deadline=None, max_examples=15,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))]


@pytest.fixture(autouse=True)
def _denormals_back_on():
    """wdlab flushes denormal floats for speed (a process-wide switch torch cannot query);
    restore IEEE behaviour after each test so tests do not depend on their order."""
    yield
    torch.set_flush_denormal(False)
