"""ONE report model, from the trusted verdict to the gradebook, export and feedback.

- Item ids: a graded item is ``"<notebook>:<function>"`` (the keys of ``course_config.points``);
  its nbgrader test cell is ``test_<function>``. ``ItemId`` is the only code that builds or
  splits either form.
- ``FLAGS``: the one list of submission flags.
- ``ItemResult``: one graded item (autograded or written), the same object from the trusted
  verdict to the exported JSON.
- ``Verdict``: what the trusted grader decided for one submission (items, flags, reasons).
- ``Report``: what ``grade`` records per submission and ``export`` and ``feedback`` read; its
  JSON file is written atomically.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from course_config import split_item

# Every flag a submission can carry, in the order reports and tables list them.
FLAGS = ("tamper_suspected", "forbidden_call", "copied_library_code", "timeout", "crashed",
         "memory", "output_too_large", "unreadable", "malformed", "missing_notebook",
         "in_kernel_disagrees")
TEST_PREFIX = "test_"

# How an item's score was decided.
TRUSTED, MANUAL, AWAITING = "trusted", "manual", "awaiting manual grade"
CHANGED = "changed outside grade"  # the gradebook no longer holds the trusted score
SKIPPED = "optional, not attempted"  # an optional notebook left out: 0 points, nothing lost
# How the trusted score is introduced wherever a human reads it (feedback, formgrader comments).
VERDICT_PREFIX = "Trusted grader:"


class ItemId(NamedTuple):
    """A graded item: the notebook stem and the function (or written answer) name."""

    notebook: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ItemId:
        notebook, name = split_item(text)
        if not notebook or not name:
            raise ValueError(f"an item id is '<notebook>:<function>', got {text!r}")
        return cls(notebook, name)

    @classmethod
    def of_cell(cls, notebook: str, grade_id: str) -> ItemId:
        """The item of an nbgrader cell: ``test_<function>`` for autograded tests, else the
        cell's own grade id (written answers)."""
        return cls(notebook, grade_id.removeprefix(TEST_PREFIX))

    @property
    def grade_id(self) -> str:
        """The grade id of the item's nbgrader test cell."""
        return TEST_PREFIX + self.name

    def __str__(self) -> str:
        return f"{self.notebook}:{self.name}"


def items_of(points: dict[str, float], notebook: str) -> dict[str, float]:
    """Graded functions of ``notebook`` with their points: {function: points}."""
    out = {}
    for key, pts in points.items():
        item = ItemId.parse(key)
        if item.notebook == notebook:
            out[item.name] = pts
    return out


def no_flags() -> dict[str, bool]:
    return dict.fromkeys(FLAGS, False)


@dataclass
class ItemResult:
    id: str
    score: float
    max_score: float
    decided_by: str = TRUSTED
    message: str = ""
    misconception: str | None = None
    first_divergent_step: int | None = None
    cases_passed: int = 0
    cases_total: int = 0
    in_kernel_score: float | None = None   # what nbgrader's in-kernel tests gave, when known

    def __post_init__(self) -> None:
        self.score = min(max(float(self.score), 0.0), float(self.max_score))

    @property
    def item(self) -> ItemId:
        return ItemId.parse(self.id)

    @property
    def awaiting(self) -> bool:
        return self.decided_by == AWAITING

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Verdict:
    """The trusted grader's decision on one submission."""

    student: str | None
    items: list[ItemResult] = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=no_flags)
    reasons: list[str] = field(default_factory=list)   # why each flag is set, one line each
    messages: list[str] = field(default_factory=list)  # notes for the student (cell errors, ...)
    isolation: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(v.score for v in self.items), 6)

    @property
    def max_score(self) -> float:
        return sum(v.max_score for v in self.items)

    def flag(self, name: str, reason: str) -> None:
        if name not in FLAGS:
            raise ValueError(f"unknown flag {name!r}; flags are {FLAGS}")
        self.flags[name] = True
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass
class Report:
    """One graded submission as ``grade`` records it (and ``export`` merges manual grades into)."""

    student: str
    assignment: str
    score: float
    max_score: float
    items: list[ItemResult] = field(default_factory=list)
    manual: list[ItemResult] = field(default_factory=list)  # written answers and manual overrides
    flags: dict[str, bool] = field(default_factory=no_flags)
    notes: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    seconds: float = 0.0
    nbgrader_seconds: float = 0.0

    def flagged(self) -> list[str]:
        return [name for name in FLAGS if self.flags.get(name)]

    def item(self, item_id: str) -> ItemResult | None:
        return next((i for i in self.items if i.id == item_id), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["items"] = [ItemResult.from_json(i) for i in data.get("items", [])]
        values["manual"] = [ItemResult.from_json(i) for i in data.get("manual", [])]
        values["flags"] = no_flags() | {k: bool(v) for k, v in data.get("flags", {}).items()
                                        if k in FLAGS}
        return cls(**values)


def write_json(path: Path, data: Any) -> None:
    """Write atomically: a killed grader leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def save(report: Report, path: Path) -> None:
    write_json(path, report.to_json())


def load(path: Path) -> Report | None:
    """The report at ``path``, or None when it is missing or unreadable."""
    try:
        return Report.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None
