import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.tools import strip_outputs
from course_config import ROOT

GIT = shutil.which("git")


def _run_notebook_output():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# demo"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return json.loads(nbformat.writes(nb))


def test_strip_removes_outputs_counts_and_widget_state(tmp_path, capsys):
    nb = _run_notebook_output()
    assert strip_outputs.problems(nb) == ["notebook metadata 'widgets'", "outputs in cells [1]",
                                          "execution counts"]
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps(nb))
    assert strip_outputs.main(["--check", str(path)]) == 1
    assert "outputs in cells [1]" in capsys.readouterr().out
    assert strip_outputs.main([str(path)]) == 0
    clean = nbformat.read(path, as_version=4)  # still a valid notebook
    assert strip_outputs.problems(json.loads(path.read_text())) == [] and clean.cells[1].source == "print(1)"
    assert strip_outputs.main(["--check", str(path)]) == 0


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_git_stores_a_run_demo_without_outputs(tmp_path):
    """The repository's .gitattributes with the filter registered: the working copy keeps its
    outputs, the staged copy has none."""
    git = lambda *a: subprocess.run([GIT, *a], cwd=tmp_path, check=True, capture_output=True,  # noqa: E731
                                    text=True).stdout
    git("init", "-q")
    git("config", "filter.strip-outputs.clean", f"{sys.executable} -m autograder.tools.strip_outputs --stdin")
    git("config", "filter.strip-outputs.smudge", "cat")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    path = tmp_path / "notebooks" / "demos" / "heatmap_demo.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_run_notebook_output()))
    subprocess.run([GIT, "add", "."], cwd=tmp_path, check=True, env={"PYTHONPATH": str(ROOT),
                   "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    staged = json.loads(git("show", ":notebooks/demos/heatmap_demo.ipynb"))
    assert strip_outputs.problems(staged) == []
    assert strip_outputs.problems(json.loads(path.read_text()))  # the working copy is untouched


@pytest.mark.skipif(GIT is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_tracked_demo_notebooks_are_stored_without_outputs():
    listed = subprocess.run([GIT, "ls-files", "notebooks/demos"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    notebooks = [p for p in listed if p.endswith(".ipynb")]
    assert notebooks
    for rel in notebooks:
        attr = subprocess.run([GIT, "check-attr", "filter", rel], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
        assert attr.strip().endswith("strip-outputs"), rel
        staged = subprocess.run([GIT, "show", f":{rel}"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout
        assert strip_outputs.problems(json.loads(staged)) == [], rel
