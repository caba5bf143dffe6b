"""course_config's ``device`` reaches the hidden checks, the trusted grader and the sweeps;
"cuda" without a GPU fails at start-up with a message, not mid-grading."""
import dataclasses

import pytest
import torch

import course_config
from autograder.reference import checks
from autograder.steps import grade
from autograder.trusted import pipeline
from tests.autograder.pipeline_course import make_course
from wdlab import device as wdevice

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")


def test_hidden_checks_run_on_the_policy_devices():
    assert checks.devices("cpu") == ["cpu"]
    assert checks.devices("auto")[0] == "cpu"
    assert checks.devices("auto") == ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@NO_GPU
def test_cuda_without_a_gpu_is_a_clear_error_everywhere(tmp_path):
    cfg = dataclasses.replace(course_config.CONFIG, device="cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        checks.devices("cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pipeline.trusted_device(cfg)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pipeline.grade_batch({}, config=cfg)
    course = make_course(tmp_path / "course", device="cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        grade.grade(course, progress=False)


def test_trusted_grader_and_sweeps_follow_the_policy(monkeypatch):
    cpu = dataclasses.replace(course_config.CONFIG, device="cpu")
    assert pipeline.trusted_device(cpu) == "cpu"
    monkeypatch.setattr(course_config, "CONFIG", cpu)
    assert wdevice.course_device() == torch.device("cpu")
    auto = dataclasses.replace(course_config.CONFIG, device="auto")
    monkeypatch.setattr(course_config, "CONFIG", auto)
    assert wdevice.course_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_policy_with_a_gpu():
    cfg = dataclasses.replace(course_config.CONFIG, device="cuda")
    assert pipeline.trusted_device(cfg) == "cuda" and checks.devices("cuda") == ["cuda"]
