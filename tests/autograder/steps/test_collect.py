"""`collect`: nbgrader layout and flat LMS files from a folder or a zip; nothing guessed."""
import zipfile

import pytest

from autograder.steps import collect, release
from tests.autograder.pipeline_course import NOTEBOOK, make_course

NOTEBOOKS = ("01_sgd_weight_decay", "02_adaptive_preconditioning", "03_adam_adamw")


@pytest.mark.parametrize("name, expected", [
    ("ann/weight_decay/03_adam_adamw.ipynb", ("ann", "03_adam_adamw", 0)),
    ("export/ann/weight_decay/01_sgd_weight_decay.ipynb", ("ann", "01_sgd_weight_decay", 0)),
    ("smithjohn_12345_67890_03_adam_adamw.ipynb", ("smithjohn", "03_adam_adamw", 0)),
    ("smithjohn_LATE_12345_67890_03_adam_adamw.ipynb", ("smithjohn", "03_adam_adamw", 0)),
    ("smithjohn_12345_67890_03_adam_adamw-2.ipynb", ("smithjohn", "03_adam_adamw", 2)),
    ("bob_02_adaptive_preconditioning.ipynb", ("bob", "02_adaptive_preconditioning", 0)),
])
def test_identify_recognises_both_layouts(name, expected):
    assert collect.identify(name, "weight_decay", NOTEBOOKS) == expected


@pytest.mark.parametrize("name, reason", [
    ("notes.txt", "not a notebook"),
    ("smithjohn_12345_homework.ipynb", "matches neither"),
    ("03_adam_adamw.ipynb", "matches neither"),
    ("ann/weight_decay/04_extra.ipynb", "not one of"),
    ("bad id!_1_03_adam_adamw.ipynb", "characters other than"),
])
def test_identify_explains_what_it_does_not_recognise(name, reason):
    assert reason in collect.identify(name, "weight_decay", NOTEBOOKS)


@pytest.fixture
def course(tmp_path):
    course = make_course(tmp_path / "course")
    release.generate(course)
    return course


def _notebook(course):
    return (course.release_dir / f"{NOTEBOOK}.ipynb").read_bytes()


def test_collect_folder_copies_recognised_and_registers_students(course, tmp_path):
    src = tmp_path / "downloads"
    (src / "ann" / "weight_decay").mkdir(parents=True)
    (src / "ann" / "weight_decay" / f"{NOTEBOOK}.ipynb").write_bytes(_notebook(course))
    (src / f"bob_11_22_{NOTEBOOK}.ipynb").write_bytes(_notebook(course))
    (src / f"bob_11_22_{NOTEBOOK}-1.ipynb").write_bytes(_notebook(course) + b"\n")
    (src / "readme.txt").write_text("hi")
    result = collect.collect(course, src)
    assert result.students == ["ann", "bob"]
    assert course.students() == ["ann", "bob"]
    # the Canvas resubmission (-1) wins over the first upload
    assert (course.submitted("bob") / f"{NOTEBOOK}.ipynb").read_bytes() == _notebook(course) + b"\n"
    reasons = dict(result.unrecognised)
    assert reasons["readme.txt"] == "not a notebook"
    assert "superseded" in reasons[f"bob_11_22_{NOTEBOOK}.ipynb"]
    with course.gradebook() as gb:
        assert sorted(s.id for s in gb.students) == ["ann", "bob"]


def test_collect_zip_never_extracts_paths(course, tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"smithjohn_LATE_1_2_{NOTEBOOK}.ipynb", _notebook(course))
        zf.writestr(f"../../evil_1_{NOTEBOOK}.ipynb", _notebook(course))
        zf.writestr("__MACOSX/._x.ipynb", b"junk")
    result = collect.collect(course, archive)
    assert result.students == ["evil", "smithjohn"]
    assert not (tmp_path.parent / f"evil_1_{NOTEBOOK}.ipynb").exists()
    assert (course.submitted("smithjohn") / f"{NOTEBOOK}.ipynb").exists()


def test_collect_rejects_a_path_that_is_neither_folder_nor_zip(course, tmp_path):
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(ValueError, match="PATH must be a folder or a .zip"):
        collect.collect(course, tmp_path / "x.txt")
