"""Taking the notebooks out of a Gradescope submission folder (files, folders, zips)."""
import os
import zipfile

import pytest

import course_config
from autograder.course import Course
from autograder.gradescope import results, run

NOTEBOOKS = ("01_a", "02_b", "03_c")


def put(folder, name, data=b'{"cells": []}'):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_loose_files_in_any_folder_are_taken_by_name(tmp_path):
    put(tmp_path, "01_a.ipynb", b"one")
    put(tmp_path, "work/weight_decay/02_b.ipynb", b"two")
    put(tmp_path, "notes.txt")
    put(tmp_path, ".ipynb_checkpoints/03_c-checkpoint.ipynb")
    taken = run.intake(tmp_path, NOTEBOOKS)
    assert taken.files == {"01_a": b"one", "02_b": b"two"}
    assert taken.sources["02_b"] == "work/weight_decay/02_b.ipynb"
    assert [n for n in taken.notes if "notes.txt" in n and "not one of the course notebooks" in n]
    assert not [n for n in taken.notes if "checkpoint" in n]  # hidden folders: silently skipped


def test_a_zip_of_the_notebooks_is_opened(tmp_path):
    with zipfile.ZipFile(tmp_path / "mine.zip", "w") as zf:
        for i, nb in enumerate(NOTEBOOKS):
            zf.writestr(f"weight_decay/{nb}.ipynb", f"nb{i}")
        zf.writestr("__MACOSX/weight_decay/._01_a.ipynb", "junk")
        zf.writestr("inner.zip", "not opened")
    taken = run.intake(tmp_path, NOTEBOOKS)
    assert taken.files == {"01_a": b"nb0", "02_b": b"nb1", "03_c": b"nb2"}
    assert taken.sources["03_c"] == "mine.zip/weight_decay/03_c.ipynb"
    assert [n for n in taken.notes if "inner.zip" in n and "zip inside a zip" in n]


def test_a_decorated_name_counts_unless_the_exact_name_exists(tmp_path):
    put(tmp_path, "01_a (1).ipynb", b"copy")
    put(tmp_path, "02_b-2.ipynb", b"resubmitted")
    put(tmp_path, "02_b.ipynb", b"exact")
    taken = run.intake(tmp_path, NOTEBOOKS)
    assert taken.files == {"01_a": b"copy", "02_b": b"exact"}
    assert [n for n in taken.notes if n.startswith("02_b-2.ipynb: not used")]


def test_two_different_files_for_one_notebook_take_neither(tmp_path):
    put(tmp_path, "01_a.ipynb", b"first")
    put(tmp_path, "again/01_a.ipynb", b"second")
    put(tmp_path, "same/02_b.ipynb", b"same")
    put(tmp_path, "02_b.ipynb", b"same")
    taken = run.intake(tmp_path, NOTEBOOKS)
    assert "01_a" not in taken.files and taken.files["02_b"] == b"same"
    assert [n for n in taken.notes if "different files for 01_a" in n and "none was graded" in n]


def test_links_are_not_followed_and_large_files_are_refused(tmp_path, monkeypatch):
    secret = put(tmp_path / "elsewhere", "secret.txt", b"instructor file")
    sub = tmp_path / "sub"
    sub.mkdir()
    os.symlink(secret, sub / "01_a.ipynb")
    put(sub, "02_b.ipynb", b"x" * 100)
    monkeypatch.setattr(run, "MAX_NOTEBOOK_BYTES", 50)
    taken = run.intake(sub, NOTEBOOKS)
    assert taken.files == {}
    assert [n for n in taken.notes if n.startswith("01_a.ipynb: not a regular file")]
    assert [n for n in taken.notes if n.startswith("02_b.ipynb:") and "clear the outputs" in n]


def test_an_unreadable_zip_and_an_empty_submission_say_so(tmp_path):
    put(tmp_path, "broken.zip", b"PK not really")
    taken = run.intake(tmp_path, NOTEBOOKS)
    assert taken.files == {} and [n for n in taken.notes if "not a readable zip" in n]
    assert run.intake(tmp_path / "nothing", NOTEBOOKS).files == {}


@pytest.mark.parametrize("name,expected", [
    ("01_a.ipynb", ("01_a", True)), ("01_a (2).ipynb", ("01_a", False)),
    ("01_a-3.ipynb", ("01_a", False)), ("x/01_a.ipynb", ("01_a", True)),
    ("01_a.py", (None, False)), ("copy of 01_a.ipynb", (None, False)),
])
def test_notebook_of_a_name(name, expected):
    assert run.notebook_of(name, NOTEBOOKS) == expected


def test_roots_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(run.ROOT_ENV, str(tmp_path))
    where = run.roots()
    assert where.source == tmp_path / "source" and where.results == tmp_path / "results" / "results.json"
    assert run.roots(tmp_path / "x").submission == tmp_path / "x" / "submission"


def test_a_submission_without_a_readable_notebook_still_gets_a_result(tmp_path):
    course = Course(course_config.load({"state_dir": str(tmp_path / "state")}, environ={}))
    where = run.Roots(tmp_path)
    put(where.submission, "02_adaptive_preconditioning.ipynb", b'{"cells": [oops')
    put(where.submission, "answers.pdf", b"%PDF")
    doc, log = run.grade(course, where)
    results.validate(doc)
    assert doc["score"] == 0
    assert "Missing: 01_sgd_weight_decay.ipynb, 03_adam_adamw.ipynb" in doc["output"]
    assert "answers.pdf: not one of the course notebooks" in doc["output"]
    tests = {t["name"]: t for t in doc["tests"]}
    assert "not a readable notebook" in tests["02_adaptive_preconditioning:rmsprop_step"]["output"]
    assert "was not submitted" in tests["01_sgd_weight_decay:l2_to_decay"]["output"]
    flags = tests[results.INSTRUCTOR_TEST]["output"]
    assert "malformed" in flags and "missing_notebook" in flags
    assert [line for line in log if line.startswith("flags: ") and "malformed" in line]
