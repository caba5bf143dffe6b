"""The one source of course settings. nbgrader, the grader, the notebooks and the sweeps read it.

Every setting is a typed field below with a comment saying what it is for. Any field can be
overridden from the environment as ``COURSE_<FIELD>`` (e.g. ``COURSE_DEVICE=cpu``) or from the
command line (``python -m autograder --set device=cpu ...``). A bad value fails at load time with
a message naming the key and what is allowed.
"""
import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEVICE_POLICIES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """An invalid course setting; the message names the key and the allowed values."""


@dataclass(frozen=True)
class CourseConfig:
    # Course and assignment identity (nbgrader's course_id and assignment name).
    course_id: str = "decoupled-weight-decay"
    assignment: str = "weight_decay"
    # The assignment's notebooks, in teaching order (file stems in solutions/<assignment>/).
    notebooks: tuple[str, ...] = ("01_sgd_weight_decay", "02_adaptive_preconditioning", "03_adam_adamw",
                                  "04_optimizer_family")
    # Notebooks a student may leave out: their points (autograded and written) are a bonus on top
    # of max_score, and not submitting one is no "missing_notebook". () = every notebook counts.
    optional_notebooks: tuple[str, ...] = ("04_optimizer_family",)
    # Points per autograded item, decided by the trusted grader: "<notebook>:<function>".
    points: dict[str, float] = field(default_factory=lambda: {
        "01_sgd_weight_decay:l2_to_decay": 1.0,
        "01_sgd_weight_decay:sgd_l2_momentum_step": 2.0,
        "01_sgd_weight_decay:sgdw_momentum_step": 2.0,
        "01_sgd_weight_decay:sgdw_equivalent_l2": 1.0,
        "02_adaptive_preconditioning:rmsprop_step": 2.0,
        "02_adaptive_preconditioning:rmsprop_preconditioner": 2.0,
        "03_adam_adamw:adam_step": 2.0,
        "03_adam_adamw:adam_l2_step": 2.0,
        "03_adam_adamw:adamw_step": 2.0,
        "03_adam_adamw:cosine_warm_restarts": 1.0,
        "04_optimizer_family:adagrad_step": 2.0,
        "04_optimizer_family:adamax_step": 2.0,
        "04_optimizer_family:nadam_step": 2.0,
        "04_optimizer_family:adamw_l1_step": 2.0,
    })
    # Where computation runs: "auto" = CUDA when available, else CPU.
    device: str = "auto"
    # Seed for datasets, generated grading cases and synthetic submissions.
    seed: int = 20190506
    # (rtol, atol) used when comparing a student's tensors with the reference, per dtype.
    tolerances: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "float32": (1e-4, 1e-6), "float64": (1e-9, 1e-12)})
    # Seconds one notebook cell may run while grading before the kernel is stopped.
    cell_timeout_s: int = 60
    # Memory cap for one submission, in MiB: each process (address space) and, where cgroups
    # can be used, the whole process tree together.
    memory_cap_mb: int = 3072
    # Wall-clock budget of one submission's trusted run, in seconds: items still to grade
    # after it get 0 with the "timeout" flag.
    submission_budget_s: int = 300
    # Size of each writable scratch folder of a sandboxed run (its working folder, /tmp), MiB.
    disk_cap_mb: int = 256
    # Parallel grading workers; 0 means one per CPU core.
    workers: int = 0
    # The instructor's working state (submissions, gradebook, feedback, exports): never committed.
    state_dir: str = str(ROOT / ".course_state")
    # Gradebook: any SQLAlchemy URL; empty means SQLite in state_dir.
    db_url: str = ""

    @property
    def gradebook_url(self) -> str:
        """The gradebook's SQLAlchemy URL: ``db_url``, else SQLite in ``state_dir``."""
        return self.db_url or f"sqlite:///{Path(self.state_dir) / 'gradebook.db'}"

    @property
    def max_score(self) -> float:
        """The assignment's autograded points, without the optional notebooks' bonus."""
        return sum(pts for key, pts in self.points.items()
                   if split_item(key)[0] not in self.optional_notebooks)

    @property
    def bonus_points(self) -> float:
        """The autograded points of the optional notebooks (a bonus on top of max_score)."""
        return sum(self.points.values()) - self.max_score


def split_item(key: str) -> tuple[str, str]:
    """("<notebook>", "<function>") of a points key "<notebook>:<function>" ("" parts when the
    key has no colon). The one place an item id is split; ``autograder.reports.ItemId`` uses it."""
    notebook, _, function = key.partition(":")
    return notebook, function


def _check(cfg: CourseConfig) -> CourseConfig:
    """Raise ConfigError for the first invalid field, naming the key and what is allowed."""
    if cfg.device not in DEVICE_POLICIES:
        raise ConfigError(f"course_config: device must be one of {DEVICE_POLICIES}, got {cfg.device!r}")
    for key in ("cell_timeout_s", "memory_cap_mb", "submission_budget_s", "disk_cap_mb"):
        if getattr(cfg, key) <= 0:
            raise ConfigError(f"course_config: {key} must be a positive integer, got {getattr(cfg, key)!r}")
    if cfg.workers < 0:
        raise ConfigError(f"course_config: workers must be >= 0 (0 = one per core), got {cfg.workers!r}")
    if not cfg.notebooks or not cfg.assignment:
        raise ConfigError("course_config: assignment and notebooks must not be empty")
    stray = [nb for nb in cfg.optional_notebooks if nb not in cfg.notebooks]
    if stray or set(cfg.optional_notebooks) >= set(cfg.notebooks):
        raise ConfigError(f"course_config: optional_notebooks must name some (not all) of the notebooks "
                          f"{cfg.notebooks}; got {cfg.optional_notebooks}")
    for item, pts in cfg.points.items():
        nb, fn = split_item(item)
        if nb not in cfg.notebooks or not fn or pts <= 0:
            raise ConfigError(f"course_config: points key {item!r} must be '<notebook>:<function>' "
                              f"with a notebook from {cfg.notebooks} and positive points")
    for dtype, tol in cfg.tolerances.items():
        if dtype not in ("float32", "float64") or len(tol) != 2 or min(tol) < 0:
            raise ConfigError(f"course_config: tolerances[{dtype!r}] must be (rtol, atol) >= 0 "
                              "for float32 or float64")
    return cfg


def _parse(name: str, text: str) -> object:
    """Turn an override string into the field's type: numbers and text as written, the lists
    and tables (notebooks, optional_notebooks, points, tolerances) as JSON."""
    kind = type(getattr(CourseConfig(), name))
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"course_config: {name} must be a {kind.__name__}, got {text!r}") from None
    if kind in (tuple, dict):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, list if kind is tuple else dict):
            example = '["01_a", "02_b"]' if kind is tuple else '{"01_a:f": 1.0}'
            raise ConfigError(f"course_config: {name} must be JSON like {example}, got {text!r}")
        if kind is tuple:
            return tuple(value)
        return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    return text


def as_environment(cfg: CourseConfig) -> dict[str, str]:
    """``COURSE_<FIELD>`` variables that make ``load()`` in another process give ``cfg`` (the
    settings that differ from the defaults), e.g. for a Jupyter server that reads
    nbgrader_config.py."""
    default, out = CourseConfig(), {}
    for f in dataclasses.fields(CourseConfig):
        value = getattr(cfg, f.name)
        if value != getattr(default, f.name):
            out[f"COURSE_{f.name.upper()}"] = json.dumps(value) if isinstance(value, (tuple, dict)) \
                else str(value)
    return out


def load(overrides: Mapping[str, object] | None = None,
         environ: Mapping[str, str] | None = None) -> CourseConfig:
    """The validated settings: defaults, then COURSE_* variables, then ``overrides`` (a dict)."""
    names = {f.name for f in dataclasses.fields(CourseConfig)}
    environ = os.environ if environ is None else environ
    values = {k[len("COURSE_"):].lower(): v for k, v in environ.items()
              if k.startswith("COURSE_") and k[len("COURSE_"):].lower() in names}
    for key, value in (overrides or {}).items():
        if key not in names:
            raise ConfigError(f"course_config: unknown setting {key!r}; known: {sorted(names)}")
        values[key] = value
    parsed = {k: _parse(k, v) if isinstance(v, str) else v for k, v in values.items()}
    if "notebooks" in parsed and "optional_notebooks" not in parsed:
        # a course cut down to some notebooks keeps those of the default optional ones it has
        # (none when that would leave no required notebook)
        kept = tuple(nb for nb in CourseConfig().optional_notebooks if nb in parsed["notebooks"])
        parsed["optional_notebooks"] = kept if set(kept) < set(parsed["notebooks"]) else ()
    return _check(CourseConfig(**parsed))


CONFIG = load()
