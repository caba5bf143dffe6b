"""Attacks through nbgrader's sandboxed kernel: its working folder, the network, runaway cells.

nbgrader runs each notebook with the kernel's working folder at the student's autograded copy,
which the grader (root) afterwards writes, copies and sets permissions in. The attacker plants
links there to the gradebook, a root-only file and the instructor's solution notebook, and
leaves files for feedback to copy; a second student is graded after it.
"""
import os
import socket
import stat

import nbformat
import pytest

from autograder import nbmeta
from autograder.isolation import sandbox
from autograder.steps import collect, export, feedback, grade, release
from tests.autograder.pipeline_course import CORRECT, ITEM, NOTEBOOK, canvas_name, make_course, submission

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox.isolation() != "bwrap", reason="needs bubblewrap")]

PLANT = """
import os
for name, target in [("{notebook}.ipynb.lnk", "GRADEBOOK"), ("secret.txt", "SECRET"),
                     ("solution.ipynb", "SOLUTION"), ("gradebook.db", "GRADEBOOK")]:
    try:
        os.symlink(target, name)
    except OSError:
        pass
open("loot.txt", "w").write("left for the grader")
"""

NET = """
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=1).sendall(b"hidden reference")
    print("NET-OPEN")
except OSError:
    print("NET-BLOCKED")
"""

LOOP = "import time\nwhile True:\n    time.sleep(0.1)\n"

# The kernel's one writable host folder is where its sockets live: try to fill the disk there.
FILL_SOCKETS = """
import json, os, time
from ipykernel.connect import get_connection_file
folder = os.path.dirname(json.load(open(get_connection_file()))["ip"])
for i in range(40):
    with open(os.path.join(folder, f"fill{i}"), "wb") as f:
        f.write(b"x" * (1 << 20))
    time.sleep(0.1)
print("WROTE-ALL")
"""


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade_attacks")
    course = make_course(tmp / "course", cell_timeout_s="5")
    release.generate(course)
    secret = tmp / "secret.txt"
    secret.write_text("root only")
    secret.chmod(0o600)
    solution = course.source_dir / f"{NOTEBOOK}.ipynb"
    solution_mode = stat.S_IMODE(solution.stat().st_mode)
    db = course.cfg.gradebook_url.removeprefix("sqlite:///")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    plant = PLANT.format(notebook=NOTEBOOK).replace("GRADEBOOK", db) \
        .replace("SECRET", str(secret)).replace("SOLUTION", str(solution))
    incoming = tmp / "in"
    incoming.mkdir()
    bodies = {"amy": plant + CORRECT, "bea": NET.replace("PORT", str(server.getsockname()[1])) + CORRECT,
              "zoe": CORRECT, "cal": FILL_SOCKETS + CORRECT}
    for student, body in bodies.items():
        nb = submission(course, body)
        if student == "bea":  # a runaway cell of her own, right before the test cell
            at = next(i for i, c in enumerate(nb.cells) if nbmeta.is_test_cell(c))
            nb.cells.insert(at, nbformat.v4.new_code_cell(LOOP))
        nbformat.write(nb, incoming / canvas_name(student))
    collect.collect(course, incoming)
    reports = grade.grade(course, jobs=1, progress=False)
    feedback.generate(course)
    path = export.export(course)
    yield course, reports, {"secret": secret, "solution": solution, "solution_mode": solution_mode,
                            "server": server, "csv": path}
    server.close()


def test_planted_links_and_files_never_reach_the_grader(attacked):
    course, reports, files = attacked
    assert stat.S_IMODE(files["secret"].stat().st_mode) == 0o600
    assert files["secret"].read_text() == "root only"
    assert stat.S_IMODE(files["solution"].stat().st_mode) == files["solution_mode"]
    graded_folder = course.autograded("amy")
    assert not [p for p in graded_folder.iterdir() if p.is_symlink() or p.name == "loot.txt"]
    fed = [p for p in course.feedback_dir("amy").rglob("*") if p.is_file() or p.is_symlink()]
    assert fed and all(p.suffix == ".html" and not p.is_symlink() for p in fed), fed


def test_the_gradebook_survives_for_the_next_student_and_export(attacked):
    course, reports, files = attacked
    assert reports["zoe"].item(ITEM).score == 1.0 and reports["amy"].item(ITEM).score == 1.0
    with course.gradebook() as gb:
        assert gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, "zoe").score == 1.0
    assert "zoe" in files["csv"].read_text()


def test_the_kernel_has_no_network(attacked):
    course, _, files = attacked
    out = nbformat.read(course.autograded("bea") / f"{NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert "NET-BLOCKED" in printed and "NET-OPEN" not in printed
    with pytest.raises(OSError):
        files["server"].accept()


def test_a_runaway_cell_is_interrupted_not_the_kernel_killed(attacked):
    course, reports, _ = attacked
    bea = reports["bea"]
    assert bea.flags["timeout"] and not bea.flags["crashed"], bea.notes
    assert bea.item(ITEM).in_kernel_score == 1.0  # the test cell after the loop still ran
    assert (course.autograded("bea") / f"{NOTEBOOK}.ipynb").exists()
    assert os.listdir(course.feedback_dir("bea"))


def test_the_kernels_socket_folder_cannot_fill_the_disk(attacked):
    course, reports, _ = attacked
    graded = course.autograded("cal") / f"{NOTEBOOK}.ipynb"
    if graded.exists():  # nbgrader drops the autograded copy of a notebook whose kernel died
        out = nbformat.read(graded, as_version=4)
        assert "WROTE-ALL" not in "".join(o.get("text", "") for c in out.cells
                                          for o in c.get("outputs", []))
    assert any("kernel died" in note for note in reports["cal"].notes), reports["cal"].notes
    assert reports["cal"].item(ITEM).score == 1.0  # the trusted verdict does not depend on it
