"""The class roster (--roster): the course's student ids and what the LMS may call them."""
from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .layouts import student_id_problem

ROSTER_ID_COLUMNS = ("id", "student_id")
ROSTER_COLUMNS = ("name", "email", "lms_id", "participant_id")


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
