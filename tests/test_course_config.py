import pytest

import course_config
from autograder.reports import ItemId
from course_config import ConfigError, load


def test_defaults_are_valid_and_consistent():
    cfg = load(environ={})
    assert cfg.device in course_config.DEVICE_POLICIES
    assert all(ItemId.parse(key).notebook in cfg.notebooks for key in cfg.points)
    assert set(cfg.optional_notebooks) < set(cfg.notebooks)
    optional = sum(pts for key, pts in cfg.points.items()
                   if ItemId.parse(key).notebook in cfg.optional_notebooks)
    assert cfg.max_score == sum(cfg.points.values()) - optional
    assert cfg.bonus_points == optional
    assert cfg.gradebook_url.startswith("sqlite:///") and cfg.gradebook_url.endswith("gradebook.db")


def test_environment_and_overrides_take_precedence(tmp_path):
    cfg = load({"workers": 3}, environ={"COURSE_DEVICE": "cpu", "COURSE_STATE_DIR": str(tmp_path),
                                        "COURSE_WORKERS": "1", "UNRELATED": "x"})
    assert (cfg.device, cfg.workers, cfg.state_dir) == ("cpu", 3, str(tmp_path))
    assert str(tmp_path) in cfg.gradebook_url


@pytest.mark.parametrize("overrides, message", [
    ({"device": "gpu"}, "device must be one of"),
    ({"cell_timeout_s": 0}, "cell_timeout_s"),
    ({"memory_cap_mb": -5}, "memory_cap_mb"),
    ({"workers": -1}, "workers"),
    ({"points": {"99_missing:f": 1.0}}, "points key '99_missing:f'"),
    ({"tolerances": {"float16": (1, 1)}}, "tolerances"),
    ({"colour": "blue"}, "unknown setting 'colour'"),
    ({"cell_timeout_s": "soon"}, "cell_timeout_s must be a int"),
    ({"optional_notebooks": ("05_unknown",)}, "optional_notebooks must name some"),
    ({"notebooks": ("01_sgd_weight_decay",), "optional_notebooks": ("01_sgd_weight_decay",),
      "points": {"01_sgd_weight_decay:l2_to_decay": 1.0}}, "optional_notebooks must name some"),
])
def test_bad_settings_fail_with_the_key_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load(overrides, environ={})


def test_bad_environment_value_fails_at_load():
    with pytest.raises(ConfigError, match="device"):
        load(environ={"COURSE_DEVICE": "tpu"})


def test_every_setting_travels_through_the_environment():
    """What a Jupyter server started by `formgrader` reads: the same settings, lists included."""
    cfg = course_config.load({"notebooks": ("01_sgd_weight_decay",), "cell_timeout_s": "7",
                              "points": {"01_sgd_weight_decay:l2_to_decay": 3.0},
                              "tolerances": {"float32": (1e-3, 1e-5)}}, environ={})
    assert course_config.load(environ=course_config.as_environment(cfg)) == cfg


def test_a_list_setting_that_is_not_json_names_the_key():
    with pytest.raises(course_config.ConfigError, match="notebooks must be JSON"):
        course_config.load(environ={"COURSE_NOTEBOOKS": "01_a,02_b"})


def test_a_course_cut_to_some_notebooks_keeps_only_their_optional_ones():
    required = load({"notebooks": ("01_sgd_weight_decay",),
                     "points": {"01_sgd_weight_decay:l2_to_decay": 1.0}}, environ={})
    assert required.optional_notebooks == () and required.max_score == 1.0 and required.bonus_points == 0
    stems = ("01_sgd_weight_decay", "04_optimizer_family")
    both = load({"notebooks": stems, "points": {"01_sgd_weight_decay:l2_to_decay": 1.0,
                                                 "04_optimizer_family:adagrad_step": 2.0}}, environ={})
    assert both.optional_notebooks == ("04_optimizer_family",)
    assert (both.max_score, both.bonus_points) == (1.0, 2.0)
    assert load(environ=course_config.as_environment(both)) == both
    alone = load({"notebooks": ("04_optimizer_family",),
                  "points": {"04_optimizer_family:adagrad_step": 2.0}}, environ={})
    assert alone.optional_notebooks == () and alone.max_score == 2.0  # a course of it alone requires it
