"""ONE nbgrader config: nbgrader_config.py (the nbgrader CLI, formgrader) and the instructor's
verbs both come from ``nbgrader_glue.config.build``."""
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import Course
from autograder.nbgrader_glue import config
from course_config import CONFIG, ROOT


def _plain_dict(cfg):
    return {section: dict(values) for section, values in cfg.items()}


def test_nbgrader_config_file_is_the_builder_output():
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert _plain_dict(loaded) == _plain_dict(config.build(CONFIG, ROOT, sandbox=False,
                                                           run_experiments=True))


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
