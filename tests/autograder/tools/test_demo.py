"""`make demo` and the synthetic submissions it (and the benchmark) grade."""
import pytest

from autograder.steps import collect, release
from autograder.tools import demo
from tests.autograder.pipeline_course import NOTEBOOK, make_course


def test_make_submission_rejects_unknown_kinds(tmp_path):
    course = make_course(tmp_path)
    with pytest.raises(ValueError, match="kind must be"):
        demo.make_submission(course, "lucky_guess")


def test_synthetic_class_is_collected_as_canvas_files(tmp_path):
    course = make_course(tmp_path / "course")
    release.generate(course)
    folder = demo.write_class(course, tmp_path / "in", {"ada": "correct", "zed": "cheat"})
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"ada_1000_2000_{NOTEBOOK}.ipynb", f"zed_1001_2001_{NOTEBOOK}.ipynb"]
    result = collect.collect(course, folder)
    assert result.students == ["ada", "zed"] and not result.unrecognised
    text = (course.submitted("ada") / f"{NOTEBOOK}.ipynb").read_text()
    assert "return lr * l2" in text  # the solution went back into the answer cell


@pytest.mark.slow
def test_demo_grades_a_correct_and_a_cheating_submission(tmp_path, capsys):
    import dataclasses

    import course_config
    from autograder.course import Course
    course = Course(dataclasses.replace(course_config.load(), state_dir=str(tmp_path)))
    if not all((course.source_dir / f"{nb}.ipynb").exists() for nb in course.cfg.notebooks):
        pytest.skip("the solution notebooks are not all written yet")
    reports = demo.run(course, jobs=2, students={"ada": "correct", "zed": "cheat"})
    out = capsys.readouterr().out
    assert "wdlab.train with reference AdamW" in out and "zed" in out
    ada = reports["ada"]
    assert all(i.score == i.max_score for i in ada.items), ada.items
    # Skipping the experiment cells broke nothing the notebooks' own tests need.
    assert not any(ada.flags.values()), ada.notes
    assert all(i.in_kernel_score == i.max_score for i in ada.items)
    assert reports["zed"].flags["tamper_suspected"]
    assert reports["zed"].score < reports["ada"].score
