"""What a file name in a download says: the LMS layouts (nbgrader, Canvas, Blackboard, Moodle,
--pattern) and the student ids they may give."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PREFER = ("latest", "on-time")
SYSTEM_FILE = "system file"  # hidden files, __MACOSX: skipped without a line of their own
NOT_A_NOTEBOOK = "not a notebook"
NBGRADER_ID_CHARS = 128  # nbgrader's gradebook stores student ids of at most 128 characters


class CollectConflict(ValueError):
    """Collect stopped before writing anything; ``conflicts`` lists why, one line each."""

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = list(conflicts)
        lines = "\n".join(f"  - {c}" for c in self.conflicts)
        super().__init__(f"collect stopped before writing anything: {len(self.conflicts)} "
                         f"conflict(s)\n{lines}")

@dataclass(frozen=True)
class Found:
    """What a file name says: whose file it is, which notebook, and how it ranks."""
    layout: str
    source: str  # the identity behind the name ("Canvas user 1001"): never two per student
    student: str  # the id the name gives (before a roster); "" when only a roster can tell
    notebook: str | None  # None: not one of the course notebooks (``problem`` says why)
    problem: str | None = None
    order: tuple[int, ...] = ()  # larger is later (resubmission number, attempt time)
    late: bool = False
    handles: tuple[tuple[str, str], ...] = ()  # (kind, value) a roster row may be matched by
    fallback: str = ""  # the id used without a roster when the name holds none


@dataclass(frozen=True)
class Layout:
    name: str
    regex: re.Pattern[str]
    shape: str  # the name as the instructor sees it, for messages
    read: Callable[[re.Match[str], tuple[str, ...], str], Found]
    name_too: bool = False  # also tried against the file name alone (for --pattern)


def _notebook(file: str | None, notebooks: Sequence[str], resubmission: bool = False
              ) -> tuple[str | None, int, str | None]:
    """(notebook, resubmission number, problem) for an original file name."""
    if not file or not file.endswith(".ipynb"):
        return None, 0, NOT_A_NOTEBOOK
    stem = file[:-len(".ipynb")]
    if stem in notebooks:
        return stem, 0, None
    again = re.fullmatch(r"(.+)-(\d+)", stem) if resubmission else None
    if again and again[1] in notebooks:
        return again[1], int(again[2]), None
    return None, 0, f"notebook {stem!r} is not one of {list(notebooks)}"


def _read_nbgrader(m: re.Match[str], notebooks: tuple[str, ...], assignment: str) -> Found:
    notebook, _, problem = _notebook(m["file"], notebooks)
    folder = f"{m['folder']}/{m['student']}" if m["folder"] else m["student"]
    return Found("nbgrader", f"folder {printable(folder)}/", m["student"], notebook, problem,
                 handles=(("id", m["student"]),))


def _read_canvas(m: re.Match[str], notebooks: tuple[str, ...], assignment: str) -> Found:
    notebook, again, problem = _notebook(m["file"], notebooks, resubmission=True)
    lms_id = m["lms_id"]
    source = (f"Canvas anonymous id {lms_id}" if lms_id.startswith("anon_")
              else f"Canvas user {lms_id}")
    student = m["student"] if m["student"] else lms_id
    return Found("canvas", source, student, notebook, problem,
                 order=(again, int(m["file_id"])), late=bool(m["late"]),
                 handles=(("id", student), ("lms_id", lms_id)))


def _read_blackboard(m: re.Match[str], notebooks: tuple[str, ...], assignment: str) -> Found:
    notebook, _, problem = _notebook(m["file"], notebooks)
    prefix = m["prefix"]
    if prefix.startswith(assignment + "_") and len(prefix) > len(assignment) + 1:
        student, handles = prefix[len(assignment) + 1:], (("id", prefix[len(assignment) + 1:]),)
    else:  # the assignment part is unknown: a roster id that ends the name part decides
        student, handles = prefix.rsplit("_", 1)[-1], (("id_suffix", prefix),)
    if m["file"] is None:
        problem = "not a notebook (Blackboard's attempt receipt)"
    return Found("blackboard", f"Blackboard name part {prefix!r}", student, notebook, problem,
                 order=tuple(int(x) for x in m["attempt"].split("-")), handles=handles)


def _read_moodle(m: re.Match[str], notebooks: tuple[str, ...], assignment: str) -> Found:
    notebook, _, problem = _notebook(m["file"], notebooks)
    pid, name = m["participant"], m["name"]
    return Found("moodle", f"Moodle participant {pid} ({name!r})", "", notebook, problem,
                 handles=(("participant_id", pid), ("name", name)), fallback=f"moodle-{pid}")


# Canvas: the lazy name part ends at the first _<digits>_<digits>_ (Canvas removes _<digits>_
# from names for the same reason); names starting "anon_" are anonymous grading's.
CANVAS = re.compile(r"(?:.*/)?(?!(?:LATE_)?anon_)(?P<student>[^/]+?)(?:_(?P<late>LATE))?"
                    r"_(?P<lms_id>\d+)_(?P<file_id>\d+)_(?P<file>[^/]+)")
CANVAS_ANONYMOUS = re.compile(r"(?:.*/)?(?:(?P<late>LATE)_)?(?P<student>)(?P<lms_id>anon_[A-Za-z0-9]+)"
                              r"_(?P<file_id>\d+)_(?P<file>[^/]+)")
BLACKBOARD = re.compile(r"(?:.*/)?(?P<prefix>[^/]+?)_attempt_(?P<attempt>\d{4}(?:-\d{2}){5})"
                        r"(?:_(?P<file>[^/]+)|\.txt)")
# Moodle writes "_" in names as spaces, so the name part holds none.
MOODLE = re.compile(r"(?:.*/)?(?P<name>[^/_]+)_(?P<participant>\d+)_assignsubmission_[a-z]+"
                    r"(?:_?/(?:[^/]+/)*|_)(?P<file>[^/]+)")


def builtin_layouts(assignment: str) -> tuple[Layout, ...]:
    nbgrader = re.compile(rf"(?:(?P<folder>.+)/)?(?P<student>[^/]+)/{re.escape(assignment)}"
                          r"/(?P<file>[^/]+)")
    return (
        Layout("nbgrader", nbgrader, f"<student>/{assignment}/<notebook>.ipynb", _read_nbgrader),
        Layout("canvas", CANVAS, "<name>[_LATE]_<user id>_<file id>_<notebook>[-N].ipynb",
               _read_canvas),
        Layout("canvas", CANVAS_ANONYMOUS, "[LATE_]anon_<id>_<file id>_<notebook>[-N].ipynb",
               _read_canvas),
        Layout("blackboard", BLACKBOARD,
               "<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<notebook>.ipynb",
               _read_blackboard),
        Layout("moodle", MOODLE,
               "<Full Name>_<participant id>_assignsubmission_file_/<notebook>.ipynb",
               _read_moodle),
    )


def parse_pattern(regex: str) -> Layout:
    """The instructor's own layout (``--pattern``): named groups ``student`` and ``notebook``
    (the notebook's name, ``.ipynb`` optional), optional ``attempt`` (its numbers, in order,
    rank the files: a number or a date) and ``late`` (matched and non-empty: late)."""
    try:
        compiled = re.compile(regex)
    except re.error as err:
        raise ValueError(f"--pattern {regex!r} is not a regular expression: {err}") from None
    missing = [g for g in ("student", "notebook") if g not in compiled.groupindex]
    if missing:
        raise ValueError(f"--pattern {regex!r} lacks the named group(s) {missing}: write them as "
                         "(?P<student>...) and (?P<notebook>...)")

    def read(m: re.Match[str], notebooks: tuple[str, ...], assignment: str) -> Found:
        groups = m.groupdict()
        file = groups["notebook"] or ""
        notebook, _, problem = _notebook(file if file.endswith(".ipynb") else file + ".ipynb",
                                         notebooks)
        if not m.string.endswith(".ipynb"):
            notebook, problem = None, NOT_A_NOTEBOOK
        attempt = tuple(int(x) for x in re.findall(r"\d+", groups.get("attempt") or ""))
        student = groups["student"] or ""
        return Found("pattern", f"--pattern student {student!r}", student, notebook, problem,
                     order=attempt, late=bool(groups.get("late")), handles=(("id", student),))

    return Layout("pattern", compiled, f"--pattern {regex}", read, name_too=True)


def printable(text: str) -> str:
    """``text`` with control characters escaped: names come from students and reach a terminal."""
    return "".join(c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c
                   for c in text)


def path_problem(name: str) -> str | None:
    """Why a path from the download may not even be looked at (a zip-slip or NUL trick)."""
    if "\x00" in name:
        return "unsafe name: it holds a NUL byte"
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "unsafe name: an absolute path"
    if ".." in path.split("/"):
        return "unsafe name: '..' in the path"
    return None


def identify(name: str, assignment: str, notebooks: Sequence[str],
             layouts: Sequence[Layout] | None = None) -> Found | str:
    """What the file name says (``Found``), or the reason it says nothing usable.

    Raises ``CollectConflict`` when two layouts read the name as different students' notebooks."""
    problem = path_problem(name)
    if problem:
        return problem
    path = name.replace("\\", "/")
    parts = path.split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return SYSTEM_FILE
    notebooks = tuple(notebooks)
    layouts = builtin_layouts(assignment) if layouts is None else layouts
    readings = [layout.read(m, notebooks, assignment) for layout in layouts
                if (m := layout.regex.fullmatch(path)
                    or (layout.name_too and layout.regex.fullmatch(parts[-1])))]
    if not readings:
        if not path.endswith(".ipynb"):
            return NOT_A_NOTEBOOK
        shapes = "; ".join(dict.fromkeys(layout.shape for layout in layouts))
        return f"name fits no known layout ({shapes}); give --pattern for another"
    useful = [r for r in readings if r.notebook] or readings
    distinct = {(r.source, r.student, r.notebook): r for r in useful}
    if len(distinct) > 1 and any(r.notebook for r in useful):
        what = " and ".join(f"{r.layout} ({r.source}, student {r.student or r.fallback!r})"
                            for r in distinct.values())
        raise CollectConflict([f"{name}: the name fits {what}; give --pattern to say which"])
    if len(distinct) > 1:  # not a notebook either way: skipped without guessing whose it is
        return readings[0].problem or NOT_A_NOTEBOOK
    return useful[0]


def student_id_problem(student: str) -> str | None:
    """Why ``student`` cannot be a student id (a path component and nbgrader's glob), or None."""
    if not student:
        return "is empty"
    if student in (".", ".."):
        return "is a relative folder name"
    if student.startswith("."):
        return "starts with '.' (a hidden folder)"
    if "/" in student or "\\" in student:
        return "holds a path separator"
    if any(unicodedata.category(c) == "Cc" for c in student):
        return "holds a control character"
    if student != student.strip():
        return "starts or ends with a space (nbgrader strips it)"
    if set(student) & set("*?[]"):
        return "holds one of * ? [ ] (nbgrader expands them to other students' folders)"
    if len(student) > NBGRADER_ID_CHARS:
        return f"is longer than the {NBGRADER_ID_CHARS} characters nbgrader stores"
    return None
