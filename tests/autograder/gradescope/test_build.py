"""The autograder zip: Gradescope's layout, the pinned installs, the fallback result."""
import ast
import csv
import json
import subprocess
import zipfile

import pytest

import course_config
from autograder import cli
from autograder.course import Course
from autograder.gradescope import build, results, run
from autograder.steps.release import read_pins
from course_config import ROOT


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    course = Course(course_config.load({"state_dir": str(out / "state")}, environ={}))
    return course, *build.build(course, out)


def test_the_zip_has_the_scripts_at_its_root_and_what_grading_needs(built):
    course, path, _ = built
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert infos[script].external_attr >> 16 & 0o111 == 0o111, script
    names = set(infos)
    for needed in ("autograder/gradescope/run.py", "autograder/trusted/executor.py",
                   "autograder/reference/checks.py", "wdlab/__init__.py", "data_gen/__init__.py",
                   "course_config.py", "requirements.txt", "pyproject.toml",
                   *(f"solutions/{course.assignment}/{nb}.ipynb" for nb in course.cfg.notebooks)):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "autograder/authoring/",
                                                  "autograder/tools/", ".course_state", ".venv"))
                or "__pycache__" in n or n.endswith(".pyc")]


def test_the_same_course_gives_the_same_zip(built, tmp_path):
    course, path, _ = built
    again, _ = build.build(course, tmp_path / "again.zip")
    assert again.read_bytes() == path.read_bytes()


def test_setup_installs_the_pinned_cpu_torch_the_lock_and_bubblewrap(built):
    course, path, _ = built
    with zipfile.ZipFile(path) as zf:
        setup = zf.read("setup.sh").decode()
    torch = read_pins((ROOT / "requirements.txt").read_text())["torch"]
    assert torch.startswith("torch==")
    assert (f"pip install -q --no-deps --index-url {build.TORCH_CPU_INDEX} {torch}\n") in setup
    assert 'pip install -q -r "$SOURCE/requirements.txt"' in setup
    assert "apt-get install -y" in setup and " bubblewrap " in setup
    # torch is never installed unpinned, and no other index serves anything else
    for line in setup.splitlines():
        if "pip install" in line and "torch" in line:
            assert torch in line, line
    assert setup.count("--index-url") == 1
    assert "REQUIRES_PYTHON='>=" in setup  # the lock's Python range, checked before pip runs
    subprocess.run(["bash", "-n"], input=setup, text=True, check=True)  # it parses


def test_an_unpinned_torch_stops_the_build():
    with pytest.raises(ValueError, match="not an exact pin"):
        build.torch_pin("numpy==2.0\ntorch>=2\n")
    with pytest.raises(ValueError, match="no torch pin"):
        build.torch_pin("numpy==2.0\n")


def test_the_question_list_has_every_written_answer(built):
    _, _, questions = built
    rows = list(csv.DictReader(questions.open()))
    # 13 answers (25 points) in the required notebooks, 5 (10 points) in the optional one
    assert len(rows) == 18 and sum(float(r["points"]) for r in rows) == 35
    optional = [r for r in rows if r["optional"] == "yes"]
    assert {r["notebook"] for r in optional} == {"04_optimizer_family"} and len(optional) == 5
    assert all(r["question"].startswith("**Question") for r in rows)
    assert not [r for r in rows if "MARK SCHEME" in r["question"] or "SOLUTION" in r["question"]]


def test_run_autograder_leaves_a_result_when_the_grader_cannot_start(tmp_path):
    base = tmp_path / "autograder"
    (base / "source").mkdir(parents=True)
    (base / "source" / run.PYTHON_FILE).write_text("/bin/false\n")
    script = base / "run_autograder"
    script.write_text(build.run_script())
    done = subprocess.run(["bash", str(script)], env={"PATH": "/usr/bin:/bin",
                                                      run.ROOT_ENV: str(base)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    doc = json.loads((base / "results" / "results.json").read_text())
    results.validate(doc)
    assert doc["score"] == 0 and "could not be graded" in doc["output"]


def test_the_cli_verb_writes_the_zip(tmp_path, capsys):
    out = tmp_path / "gs.zip"
    assert cli.main(["--state-dir", str(tmp_path / "state"), "gradescope", "--out", str(out),
                     "--visibility", "visible", "--no-kernel"]) == 0
    assert str(out) in capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        script = zf.read("run_autograder").decode()
    assert "--visibility visible --no-kernel" in script


def test_the_package_imports_no_tools_authoring_or_cli():
    for path in sorted((ROOT / "autograder" / "gradescope").glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | \
            {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not [m for m in names if m.startswith(("autograder.tools", "autograder.authoring",
                                                      "autograder.cli"))], path
