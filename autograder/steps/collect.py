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

import contextlib
import csv
import io
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from autograder.course import Course

MAX_NOTEBOOK_BYTES = 20 << 20  # larger notebooks are collected with their outputs stripped
HARD_LIMIT_BYTES = 512 << 20  # never read beyond this (the declared size is checked first)
PREFER = ("latest", "on-time")
SYSTEM_FILE = "system file"  # hidden files, __MACOSX: skipped without a line of their own
NOT_A_NOTEBOOK = "not a notebook"
ROSTER_ID_COLUMNS = ("id", "student_id")
ROSTER_COLUMNS = ("name", "email", "lms_id", "participant_id")
NBGRADER_ID_CHARS = 128  # nbgrader's gradebook stores student ids of at most 128 characters
_CHUNK = 1 << 20


class CollectConflict(ValueError):
    """Collect stopped before writing anything; ``conflicts`` lists why, one line each."""

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = list(conflicts)
        lines = "\n".join(f"  - {c}" for c in self.conflicts)
        super().__init__(f"collect stopped before writing anything: {len(self.conflicts)} "
                         f"conflict(s)\n{lines}")


@dataclass
class CollectResult:
    collected: list[tuple[str, str, str]] = field(default_factory=list)  # (student, notebook, source)
    unrecognised: list[tuple[str, str]] = field(default_factory=list)  # (source name, reason)
    students: list[str] = field(default_factory=list)  # every registered student, sorted
    notes: list[tuple[str, str]] = field(default_factory=list)  # (source name or student, note)


# ---- layouts --------------------------------------------------------------------------------

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
    return Found("nbgrader", f"folder {_printable(folder)}/", m["student"], notebook, problem,
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


def _printable(text: str) -> str:
    """``text`` with control characters escaped: names come from students and reach a terminal."""
    return "".join(c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c
                   for c in text)


def _path_problem(name: str) -> str | None:
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
    problem = _path_problem(name)
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


# ---- roster ---------------------------------------------------------------------------------

def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class Roster:
    """The course's students (``id``) and what the LMS may call them."""
    rows: tuple[dict[str, str], ...]

    @property
    def ids(self) -> list[str]:
        return [row["id"] for row in self.rows]

    def email(self, student: str) -> str | None:
        return next((r["email"] for r in self.rows if r["id"] == student and r["email"]), None)

    def match(self, handles: Sequence[tuple[str, str]]) -> list[str]:
        """Roster ids any handle points to, in roster order."""
        hits = []
        for row in self.rows:
            local = row["email"].split("@")[0]
            names = {_fold(x) for x in (row["id"], row["email"], local) if x}
            for kind, value in handles:
                if not value:
                    continue
                if ((kind == "id" and _fold(value) in names)
                        or (kind in ("lms_id", "participant_id") and row[kind] == value)
                        or (kind == "name" and row["name"] and _fold(row["name"]) == _fold(value))
                        or (kind == "id_suffix" and any(
                            _fold(value) == n or _fold(value).endswith("_" + n) for n in names))):
                    hits.append(row["id"])
                    break
        return hits


def load_roster(path: Path | str) -> Roster:
    """Read a roster CSV: a header row, a column ``id`` or ``student_id``, optional ``name``,
    ``email``, ``lms_id`` (Canvas user id), ``participant_id`` (Moodle); other columns ignored."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"roster {path}: not UTF-8 text ({err}); save it as CSV UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    id_columns = [c for c in ROSTER_ID_COLUMNS if c in header]
    if len(id_columns) != 1:
        raise ValueError(f"roster {path}: the header needs exactly one column 'id' or "
                         f"'student_id' (found {header}); add it as the first line")
    where = {c: header.index(c) for c in (*id_columns, *ROSTER_COLUMNS) if c in header}
    rows, seen = [], defaultdict(dict)
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {c: (values[i].strip() if i < len(values) else "") for c, i in where.items()}
        row["id"] = row.pop(id_columns[0])
        for column in ROSTER_COLUMNS:
            row.setdefault(column, "")
        problem = student_id_problem(row["id"])
        if problem:
            raise ValueError(f"roster {path} line {number}: student id {row['id']!r} {problem}; "
                             "fix that cell")
        for column in ("id", "lms_id", "participant_id"):
            key = _fold(row[column])  # ids are matched without case: Ann and ann are one
            if key and key in seen[column]:
                raise ValueError(f"roster {path} line {number}: {column} {row[column]!r} is "
                                 f"already on line {seen[column][key]}; each must be unique "
                                 "(case aside)")
            seen[column][key] = number
        rows.append(row)
    return Roster(tuple(rows))


# ---- reading the download -------------------------------------------------------------------

class _Unreadable(Exception):
    """A file of the download that cannot be read."""


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class _Source:
    name: str  # the path inside the download, as stored
    read: Callable[[int], bytes]  # at most ``limit`` bytes, else _TooLarge; _Unreadable
    problem: str | None = None

    @property
    def shown(self) -> str:
        return _printable(self.name)


def _read_capped(fh: io.RawIOBase | io.BufferedIOBase, limit: int) -> bytes:
    data = bytearray()
    while chunk := fh.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise _TooLarge(len(data))
    return bytes(data)


def _read_file(path: Path, limit: int) -> bytes:
    try:  # O_NOFOLLOW: a link put there after the listing is not followed either
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise _Unreadable(err.strerror or str(err)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("not a regular file")
        if info.st_size > limit:
            raise _TooLarge(info.st_size)
        with os.fdopen(os.dup(fd), "rb") as fh:
            return _read_capped(fh, limit)
    except OSError as err:
        raise _Unreadable(err.strerror or str(err)) from None
    finally:
        os.close(fd)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:  # the declared size, before a byte is inflated
        raise _TooLarge(info.file_size)
    try:  # zipfile never inflates past the declared size and checks the CRC at the end
        with zf.open(info) as fh:
            return _read_capped(fh, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            OSError, ValueError) as err:
        raise _Unreadable(f"{type(err).__name__}: {err}") from None


def _folder_sources(root: Path) -> Iterator[_Source]:
    for here, folders, files in os.walk(root):  # followlinks=False: linked folders are not entered
        here_path = Path(here)
        folders.sort()
        for folder in folders:
            if (here_path / folder).is_symlink() and not folder.startswith("."):
                yield _Source((here_path / folder).relative_to(root).as_posix(), _refuse,
                              "symbolic link: not followed")
        folders[:] = [f for f in folders if not f.startswith(".") and f != "__MACOSX"]
        for name in sorted(files):
            path = here_path / name
            try:
                mode = os.lstat(path).st_mode
            except OSError as err:
                mode, problem = 0, f"unreadable: {err.strerror or err}"
            else:
                problem = ("symbolic link: not followed" if stat.S_ISLNK(mode)
                           else None if stat.S_ISREG(mode) else "not a regular file")
            yield _Source(path.relative_to(root).as_posix(), partial(_read_file, path), problem)


def _zip_sources(zf: zipfile.ZipFile) -> Iterator[_Source]:
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.orig_filename  # zipfile cuts .filename at a NUL byte; the original keeps it
        problem = _path_problem(name) if "\x00" in name else None
        if stat.S_ISLNK(info.external_attr >> 16):
            problem = "symbolic link: not followed"
        yield _Source(name, partial(_read_member, zf, info), problem)


def _refuse(limit: int) -> bytes:
    raise _Unreadable("not read")


@contextlib.contextmanager
def _sources(path: Path | str) -> Iterator[Iterator[_Source]]:
    path = Path(path)
    if path.is_dir():
        yield _folder_sources(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise ValueError(f"collect: {path} is not a readable zip ({err}); download it "
                             "again") from None
        with zf:
            yield _zip_sources(zf)
    else:
        raise ValueError(f"collect: PATH must be a folder or a .zip file, got {str(path)!r}")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def _strip_outputs(data: bytes) -> bytes | None:
    """The notebook without outputs and execution counts (sources and metadata kept), or None
    when ``data`` is not a readable notebook."""
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        return nbformat.writes(nb).encode("utf-8")
    except Exception:  # noqa: BLE001  nbformat raises many unrelated types for broken files
        return None


def _load(source: _Source) -> tuple[bytes | None, str | None, str | None]:
    """(bytes to write, note, reason it is not collected) for one chosen file."""
    try:
        data = source.read(HARD_LIMIT_BYTES)
    except _TooLarge as big:
        return None, None, (f"refused: {_mib(big.size)}, over the hard limit of "
                            f"{_mib(HARD_LIMIT_BYTES)} (not read)")
    except _Unreadable as err:
        return None, None, f"unreadable: {err}"
    if len(data) <= MAX_NOTEBOOK_BYTES:
        return data, None, None
    stripped = _strip_outputs(data)
    if stripped is None:
        return None, None, (f"refused: {_mib(len(data))}, over {_mib(MAX_NOTEBOOK_BYTES)} and "
                            "not a readable notebook")
    if len(stripped) > MAX_NOTEBOOK_BYTES:
        return None, None, (f"refused: {_mib(len(stripped))} without outputs, still over "
                            f"{_mib(MAX_NOTEBOOK_BYTES)}")
    return stripped, f"outputs stripped ({_mib(len(data))})", None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and a rename: never a half notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---- collect --------------------------------------------------------------------------------

@dataclass
class _File:
    source: _Source
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
    with _sources(path) as sources:
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
            data, note, reason = _load(f.source)
            if data is None:
                result.unrecognised.append((f.source.shown, reason or "not collected"))
                if reason and reason.startswith("unreadable"):
                    unreadable.add(student)
                continue
            folder = course.submitted(student)
            if not folder.resolve().is_relative_to(base):
                raise ValueError(f"collect: {folder} is outside {base}")
            _write_atomic(folder / f"{notebook}.ipynb", data)
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
