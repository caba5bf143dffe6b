"""Notebook sources in percent format: one ``# %%`` block per cell, built with ``autograder.authoring``.

Each solution notebook has one source file, ``autograder/authoring/sources/<notebook>.py``; the file
stem is the notebook's name (e.g. ``01_sgd_weight_decay``). The file is valid Python (markdown
lives in comments), so the linter reads it. ``python -m autograder.authoring.percent [NAME ...]``
rebuilds the named notebooks (default: all) into solutions/<assignment>/<notebook>.ipynb; then
``python -m autograder.authoring.regenerate`` regenerates the student versions.

Format. Anything before the first ``# %%`` line (the file's docstring) is ignored. A cell starts at
a line ``# %%``, optionally followed by its kind and arguments, and runs to the next such line:

    # %% [markdown]                                  markdown(text)
    # %% [markdown] locked=<id>                      markdown(text, locked_id=<id>)
    # %% [markdown] answer <grade_id> points=<n>     answer(grade_id, n, text)
    # %% [markdown] mark_scheme <answer_id>          mark_scheme(answer_id, text)
    # %% setup                                       setup(code)
    # %% solution [grade_id=<id>]                    solution(code[, grade_id=<id>])
    # %% tests <function>                            tests(<notebook>, function, code)
    # %%                                             code(code)
    # %% experiment                                  code(code, experiment=True)
    # %% locked=<id>                                 code(code, locked_id=<id>)

(A code cell is ``experiment`` or ``locked=<id>``, not both: a locked cell is never skipped.)
Markdown lines are comments: each line loses exactly its leading ``# `` (or ``#``), so a bare
``#`` is an empty line; every line of a markdown cell must be a comment. Code lines are kept
verbatim. Blank lines before and after a cell's body are dropped (they separate the cells); the
builders then dedent and strip the text as usual. A header line is ``# %%`` alone or followed by
a space; a kind or argument the reader does not know, a missing argument and any error of a
builder raise ValueError naming the file and the line of the cell.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbformat import NotebookNode

from autograder.authoring.cells import answer, code, mark_scheme, markdown, setup, solution, tests
from autograder.authoring.conventions import build

SOURCES = Path(__file__).resolve().parent / "sources"
HEADER = "# %%"
MARKDOWN = "[markdown]"


def _is_header(line: str) -> bool:
    return line == HEADER or line.startswith(HEADER + " ")


def _trim(lines: list[str]) -> list[str]:
    """``lines`` without the blank lines at either end."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _options(args: list[str], flags: set[str], keys: set[str]) -> tuple[set[str], dict[str, str]]:
    """Split ``args`` into the known flags and ``key=value`` options; anything else is an error."""
    found, values = set(), {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq and arg in flags and arg not in found:
            found.add(arg)
        elif eq and key in keys and value and key not in values:
            values[key] = value
        else:
            raise ValueError(f"unexpected argument {arg!r}")
    return found, values


def _points(text: str) -> float:
    key, eq, value = text.partition("=")
    if key != "points" or not eq:
        raise ValueError(f"expected points=<n>, got {text!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"points must be a number, got {value!r}") from None


def _markdown_text(body: list[str]) -> str:
    lines = []
    for line in body:
        if not line.startswith("#"):
            raise ValueError(f"markdown lines must be comments ('#' alone for an empty line), "
                             f"got {line!r}")
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines)


def _markdown_cell(args: list[str], body: list[str]) -> NotebookNode:
    kind, rest = (args[0], args[1:]) if args and "=" not in args[0] else ("", args)
    if kind == "":
        _, values = _options(rest, set(), {"locked"})
        return markdown(_markdown_text(body), locked_id=values.get("locked"))
    if kind == "answer":
        if len(rest) != 2:
            raise ValueError("expected '[markdown] answer <grade_id> points=<n>'")
        return answer(rest[0], _points(rest[1]), _markdown_text(body))
    if kind == "mark_scheme":
        if len(rest) != 1:
            raise ValueError("expected '[markdown] mark_scheme <answer_id>'")
        return mark_scheme(rest[0], _markdown_text(body))
    raise ValueError(f"unknown markdown cell kind {kind!r}")


def _code_cell(args: list[str], body: list[str], notebook: str) -> NotebookNode:
    source = "\n".join(body)
    kind, rest = (args[0], args[1:]) if args and args[0] in {"setup", "solution", "tests"} else ("", args)
    if kind == "setup":
        _options(rest, set(), set())
        return setup(source)
    if kind == "solution":
        _, values = _options(rest, set(), {"grade_id"})
        return solution(source, grade_id=values.get("grade_id"))
    if kind == "tests":
        if len(rest) != 1:
            raise ValueError("expected 'tests <function>'")
        return tests(notebook, rest[0], source)
    if rest and "=" not in rest[0] and rest[0] != "experiment":
        raise ValueError(f"unknown cell kind {rest[0]!r}")
    if len(rest) > 1:  # a locked cell is never skipped as an experiment (nbmeta.is_experiment)
        raise ValueError("a code cell is either 'experiment' or 'locked=<id>', not both")
    flags, values = _options(rest, {"experiment"}, {"locked"})
    return code(source, locked_id=values.get("locked"), experiment="experiment" in flags)


def _cell(header: str, body: list[str], notebook: str) -> NotebookNode:
    args = header[len(HEADER):].split()
    body = _trim(body)
    if args and args[0] == MARKDOWN:
        return _markdown_cell(args[1:], body)
    return _code_cell(args, body, notebook)


def read_cells(path: Path) -> list[NotebookNode]:
    """The cells of the percent-format source ``path``, built with the authoring builders (the
    notebook's name, for ``tests`` cells, is the file's stem). A bad cell raises ValueError
    ``<path>:<line>: <problem>``, the line being the cell's ``# %%`` line."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if _is_header(line)]
    if not starts:
        raise ValueError(f"{path}: no '{HEADER}' line, so no cell")
    cells = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        try:
            cells.append(_cell(lines[start], lines[start + 1:end], path.stem))
        except (ValueError, KeyError) as err:  # KeyError: tests() of an item not in the config
            message = err.args[0] if err.args else repr(err)
            raise ValueError(f"{path}:{start + 1}: {message} (in {lines[start]!r})") from err
    return cells


def build_source(path: Path, directory: Path | None = None) -> Path:
    """Build the notebook of source ``path`` into ``<directory>/<stem>.ipynb`` (default: the
    assignment's solutions folder); returns the notebook's path."""
    path = Path(path)
    return build(read_cells(path), path.stem, directory)


def source_files() -> list[Path]:
    """The notebooks' percent-format sources, in notebook order."""
    return sorted(p for p in SOURCES.glob("*.py") if p.name != "__init__.py")


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.authoring.percent [NAME ...]``: rebuild the named (default: all)
    solution notebooks from their sources."""
    parser = argparse.ArgumentParser(prog="python -m autograder.authoring.percent",
                                     description="Build solution notebooks from their percent-format "
                                                 "sources in autograder/authoring/sources/.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="notebook names, e.g. 01_sgd_weight_decay, or source paths (default: all)")
    args = parser.parse_args(argv)
    files = {p.stem: p for p in source_files()}
    names = [Path(name).name.removesuffix(".py").removesuffix(".ipynb") for name in args.names] \
        or list(files)
    unknown = [name for name in names if name not in files]
    if unknown:
        parser.error(f"no source for {', '.join(unknown)} (known: {', '.join(files)})")
    for name in names:
        print(build_source(files[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
