"""ONE nbgrader config: nbgrader_config.py (the nbgrader CLI, formgrader) and the instructor's
verbs both come from ``nbgrader_glue.config.build``."""
import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import Course
from autograder.nbgrader_glue import config
from course_config import CONFIG, ROOT


def _plain_dict(cfg):
    return {section: dict(values) for section, values in cfg.items()}


def test_nbgrader_config_file_is_the_builder_output():
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert _plain_dict(loaded) == _plain_dict(config.for_nbgrader_apps(CONFIG, ROOT))


def test_nbgraders_own_autograde_grades_like_grade():
    """formgrader's Autograde button: sandboxed kernel, no experiments, trusted verdict after."""
    apps = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    ours = Course(CONFIG, ROOT).nbgrader_config()
    assert apps.Execute.kernel_name == ours.Execute.kernel_name == config.SANDBOX_KERNEL
    assert apps.Autograde.autograde_preprocessors == ours.Autograde.autograde_preprocessors
    assert apps.KernelManager.transport == "ipc"  # the sandboxed kernel gets no network
    assert apps.Autograde.post_convert_hook.target == "autograder.steps.grade.after_nbgrader_autograde"
    assert apps.Autograde.pre_convert_hook.target == "autograder.steps.grade.before_nbgrader_autograde"
    assert "post_convert_hook" not in ours.Autograde  # grade writes the verdict itself


def test_socket_folder_of_nbgraders_apps_is_private(tmp_path, monkeypatch):
    import dataclasses
    import os
    monkeypatch.setattr(config.tempfile, "gettempdir", lambda: str(tmp_path))
    cfg = dataclasses.replace(CONFIG, state_dir=str(tmp_path / "state"))
    folder = config.private_socket_dir(cfg)
    assert folder.stat().st_mode & 0o777 == 0o700 and config.private_socket_dir(cfg) == folder
    os.chmod(folder, 0o777)  # someone could plant sockets or links there
    with pytest.raises(RuntimeError, match="not a private folder"):
        config.private_socket_dir(cfg)


def test_every_path_sets_the_course_settings(tmp_path):
    for cfg in (Course(CONFIG, tmp_path).nbgrader_config(),
                PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()):
        assert cfg.CourseDirectory.course_id == CONFIG.course_id
        assert cfg.CourseDirectory.db_url == CONFIG.gradebook_url
        assert cfg.ExecutePreprocessor.timeout == CONFIG.cell_timeout_s
        assert cfg.Execute.timeout == CONFIG.cell_timeout_s
        assert cfg.ClearSolutions.code_stub == {"python": config.CODE_STUB}
        assert "autograder.nbgrader_glue.preprocessors.HideHiddenTests" in \
            cfg.GenerateFeedback.preprocessors


def test_grade_uses_the_sandboxed_kernel(tmp_path):
    assert Course(CONFIG, tmp_path).nbgrader_config().Execute.kernel_name == config.SANDBOX_KERNEL
    assert "kernel_name" not in Course(CONFIG, tmp_path).nbgrader_config(sandbox=False).Execute
