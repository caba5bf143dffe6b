"""`collect PATH`: bring submissions from a folder or a zip into nbgrader's submitted/ folder.

Every file's path inside the download is matched against named layouts, regular expressions
with named groups as in nbgrader's ``FileNameCollectorPlugin.named_regexp``:

- ``nbgrader``: ``[folders/]<student>/<assignment>/<notebook>.ipynb``;
- ``canvas``: ``<name>[_LATE]_<user id>_<file id>_<original file name>``, where the name part is
  Canvas's lower-cased sortable name (it may hold ``_``; Canvas strips ``_<digits>_`` from it, so
  the first ``_<digits>_<digits>_`` ends it) and ``-N`` before ``.ipynb`` is the N-th resubmission;
  with anonymous grading ``[LATE_]anon_<anonymous id>_<file id>_<original file name>``;
- ``blackboard``: ``<assignment name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original file
  name>`` (the username is what follows ``<course assignment>_`` when the assignment part is the
  course's assignment name, else the last ``_``-separated word; a roster decides otherwise);
- ``moodle``: ``<Full Name>_<participant id>_assignsubmission_file[_]/<original file name>`` (one
  folder per submission) or the same name without the slash (Moodle's flat download).

``--pattern REGEX`` replaces them with the instructor's own (groups ``student`` and ``notebook``,
optional ``attempt`` and ``late``). ``--roster FILE`` maps what the names say (id, e-mail,
Canvas user id, Moodle participant id or full name) to the course's student ids.

Nothing is guessed: a file whose name fits two layouts differently, a student id that two
different sources (Canvas users, Moodle participants, nbgrader folders, ...) would share, a file
that matches no roster row or two, or two files of one notebook that cannot be ordered stop
collect before anything is written, with every conflict listed (``CollectConflict``). Of several
files of one student and notebook the rule ``prefer`` decides (``latest``: highest resubmission
number or latest attempt time; ``on-time``: the latest not marked late, else the latest).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Course

from .download import MAX_NOTEBOOK_BYTES, Source, load_notebook, open_download, write_atomic
from .layouts import (
    NOT_A_NOTEBOOK,
    PREFER,
    SYSTEM_FILE,
    CollectConflict,
    Found,
    builtin_layouts,
    identify,
    parse_pattern,
    student_id_problem,
)
from .roster import Roster, load_roster

__all__ = ["MAX_NOTEBOOK_BYTES", "PREFER", "CollectConflict", "CollectResult", "Roster", "collect",
           "identify", "load_roster", "parse_pattern", "register", "student_id_problem"]


@dataclass
class CollectResult:
    collected: list[tuple[str, str, str]] = field(default_factory=list)  # (student, notebook, source)
    unrecognised: list[tuple[str, str]] = field(default_factory=list)  # (source name, reason)
    students: list[str] = field(default_factory=list)  # every registered student, sorted
    notes: list[tuple[str, str]] = field(default_factory=list)  # (source name or student, note)


@dataclass
class _File:
    source: Source
    found: Found
    student: str


def _rank(prefer: str) -> Callable[[_File], tuple]:
    if prefer == "on-time":
        return lambda f: (not f.found.late, f.found.order)
    return lambda f: f.found.order


def collect(course: Course, path: Path | str, roster: Roster | Path | str | None = None,
            pattern: str | None = None, prefer: str = "latest") -> CollectResult:
    """Copy the chosen notebooks into submitted/ and register the students in the gradebook.

    Raises ``CollectConflict`` (nothing written) when the download cannot be read without
    merging two students or guessing; see the module docstring."""
    if prefer not in PREFER:
        raise ValueError(f"collect: prefer must be one of {list(PREFER)}, got {prefer!r}")
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(roster)
    layouts = (parse_pattern(pattern),) if pattern else builtin_layouts(course.assignment)
    notebooks = tuple(course.cfg.notebooks)
    result, conflicts = CollectResult(), []
    files: list[_File] = []
    seen: dict[str, list[tuple[str, str]]] = defaultdict(list)  # student -> [(source, file)]
    unmatched: dict[str, list[str]] = defaultdict(list)  # roster conflicts by source
    with open_download(path) as sources:
        for source in sources:
            if source.problem:
                result.unrecognised.append((source.shown, source.problem))
                continue
            try:
                found = identify(source.name, course.assignment, notebooks, layouts)
            except CollectConflict as conflict:
                conflicts += conflict.conflicts
                continue
            if isinstance(found, str):
                if found != SYSTEM_FILE:
                    result.unrecognised.append((source.shown, found))
                continue
            if roster is not None:
                ids = roster.match(found.handles)
                if len(ids) != 1:
                    unmatched[f"{found.source}: matches roster ids {ids}" if ids
                              else f"{found.source}: matches no roster row"].append(source.shown)
                    continue
                student = ids[0]
            else:
                student = found.student or found.fallback
                problem = student_id_problem(student)
                if problem:
                    result.unrecognised.append(
                        (source.shown, f"student id {student!r} from {source.shown} refused: it "
                                       f"{problem}"))
                    continue
                if not found.student:
                    note = (f"{found.source}: id derived from the participant id (no roster); "
                            "give --roster with participant_id or name to use the course's ids")
                    if (student, note) not in result.notes:
                        result.notes.append((student, note))
            seen[student].append((found.source, source.shown))
            files.append(_File(source, found, student))
        for what, names in unmatched.items():
            conflicts.append(f"{what} ({', '.join(names)}); add the student to the roster (id, "
                             "email, lms_id, participant_id or name) or remove the file")
        conflicts += _identity_conflicts(seen)
        chosen, rank = defaultdict(list), _rank(prefer)
        for f in files:
            if f.found.notebook:
                chosen[(f.student, f.found.notebook)].append(f)
            else:
                result.unrecognised.append((f.source.shown, f.found.problem or NOT_A_NOTEBOOK))
        for (student, notebook), candidates in sorted(chosen.items()):
            candidates.sort(key=rank, reverse=True)
            if len(candidates) > 1 and rank(candidates[0]) == rank(candidates[1]):
                conflicts.append(
                    f"{student} {notebook}: {candidates[0].source.shown} and "
                    f"{candidates[1].source.shown} cannot be ordered (no resubmission number or "
                    "attempt time tells which is later); remove one, or give --pattern with an "
                    "attempt group")
        if conflicts:
            raise CollectConflict(conflicts)
        _write(course, result, chosen, seen, roster, prefer)
    return result


def _identity_conflicts(seen: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Two sources that would become one student, or one source that would become two."""
    out = []
    for student, items in sorted(seen.items()):
        sources = dict.fromkeys(src for src, _ in items)
        if len(sources) > 1:
            detail = "; ".join(f"{src} ({next(n for s, n in items if s == src)})"
                               for src in sources)
            out.append(f"student id {student!r} would merge {len(sources)} sources: {detail}; "
                       "give --roster (lms_id / participant_id columns) or --pattern so that "
                       "each has its own id")
    owners = defaultdict(set)
    for student, items in seen.items():
        for src, _ in items:
            owners[src].add(student)
    for src, students in sorted(owners.items()):
        if len(students) > 1:
            out.append(f"{src} would become {len(students)} students {sorted(students)}; "
                       "fix the roster or give --pattern")
    return out


def _write(course: Course, result: CollectResult, chosen: dict[tuple[str, str], list[_File]],
           seen: dict[str, list[tuple[str, str]]], roster: Roster | None, prefer: str) -> None:
    base = course.submitted().resolve()
    written, unreadable = set(), set()
    for (student, notebook), candidates in sorted(chosen.items()):
        winner = None
        for f in candidates:  # best first; an unreadable or refused file gives way to the next
            if winner is not None:
                result.unrecognised.append(
                    (f.source.shown, f"superseded by {winner.source.shown} (rule: {prefer})"))
                continue
            data, note, reason = load_notebook(f.source)
            if data is None:
                result.unrecognised.append((f.source.shown, reason or "not collected"))
                if reason and reason.startswith("unreadable"):
                    unreadable.add(student)
                continue
            folder = course.submitted(student)
            if not folder.resolve().is_relative_to(base):
                raise ValueError(f"collect: {folder} is outside {base}")
            write_atomic(folder / f"{notebook}.ipynb", data)
            result.collected.append((student, notebook, f.source.shown))
            if note:
                result.notes.append((f.source.shown, note))
            winner = f
            written.add(student)
    # A student with no notebook still gets a (0, missing_notebook) row -- unless the only
    # reason is a file of the download that could not be read: that is the download's fault.
    students = set(roster.ids if roster else ()) | written | (set(seen) - unreadable)
    for student in sorted(students - written):
        course.submitted(student).mkdir(parents=True, exist_ok=True)
    result.students = sorted(students)
    register(course, result.students, roster)


def register(course: Course, students: list[str], roster: Roster | None = None) -> None:
    with course.gradebook() as gb:
        for student in students:
            email = roster.email(student) if roster else None
            gb.update_or_create_student(student, **({"email": email} if email else {}))
