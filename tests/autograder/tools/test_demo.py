"""`make demo` and the synthetic submissions it (and the benchmark) grade."""
import html
import re

import nbformat
import pytest

from autograder import nbmeta
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
    # What an instructor needs next, with commands that work as printed.
    assert "Next steps:" in out and f"make formgrader STATE={tmp_path / 'demo'}" in out
    # No feedback file holds any line of any mark scheme of the real notebooks.
    phrases = mark_scheme_phrases(course)
    assert len(phrases) >= 10, phrases
    files = sorted((tmp_path / "demo" / "feedback").rglob("*.html"))
    assert len(files) == 2 * len(course.cfg.notebooks)
    for path in files:
        text = page_text(path.read_text())
        assert "Mark scheme" not in text and "MARK SCHEME" not in text, path
        leaked = [p for p in phrases if p in text]
        assert not leaked, (path, leaked)


def page_text(page: str) -> str:
    """The visible words of an HTML page, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def mark_scheme_phrases(course) -> list[str]:
    """Eight-word runs from every line of every mark scheme in the source notebooks."""
    phrases = []
    for notebook in course.cfg.notebooks:
        nb = nbformat.read(course.source_dir / f"{notebook}.ipynb", as_version=4)
        for cell in nb.cells:
            for line in nbmeta.split_region(cell.source, "MARK SCHEME")[1]:
                words = re.sub(r"[*`_#]|^- ", " ", line).split()
                if len(words) >= 8:
                    phrases.append(" ".join(words[:8]))
    return phrases
