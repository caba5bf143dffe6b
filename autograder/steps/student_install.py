"""Set up this course on your computer: run ``python install.py`` in the unzipped bundle.

It checks that this Python can install the course's packages (the versions pinned in
requirements-student.txt), creates ``.venv`` next to this file, installs those packages and the
bundle's own code (wdlab, data_gen, course_config) into it, and sets up JupyterLab. Running it
again reuses ``.venv``. ``--dry-run`` prints the commands without running them.

It needs nothing but Python's standard library and works on Linux, macOS and Windows. Until the
version check has passed, the code must also run on old Pythons, so that their users get a clear
message instead of a syntax error: no syntax newer than Python 3.6 anywhere in this file (hence
the annotations in quotes: Python 3.6 would evaluate ``dict[str, str]``).

The Python versions and the platforms it accepts are read from the lock's header, which is
written together with the lock.
"""
import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

LOCK = "requirements-student.txt"
VENV = ".venv"
# nbgrader's JupyterLab extension (assignment list, courses, formgrader, create assignment,
# validate). Students do not get nbgrader, but a copy installed elsewhere for the same user would
# still show its panels, broken; the course's JupyterLab switches it off.
NBGRADER_LABEXTENSION = "@jupyter/nbgrader"
OPERATORS = (">=", "<=", "!=", "==", ">", "<")  # two-character ones first: ">=" is not ">"


def lock_header(text: str) -> "dict[str, str]":
    """The ``# Key: value`` lines of the lock's leading comment block (keys as written)."""
    header = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep and key.strip() and " " not in key.strip():
            header[key.strip()] = value.strip()
    return header


def parse_version(text: str) -> "tuple[int, ...]":
    """(3, 11, 5) from "3.11.5"; a clear error for anything but dotted numbers."""
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        raise ValueError(f"not a Python version: {text!r} (expected numbers like 3.11.5)") from None


def allows(spec: str, version: "tuple[int, ...]") -> bool:
    """Whether a Requires-Python spec such as ">=3.11.5, !=3.14.1, <3.15" allows ``version``.

    Only the forms the lock's header uses: comma-separated clauses of an operator (>=, >, <=, <,
    ==, !=) and a release number; missing parts count as 0, as in PEP 440.
    """
    for clause in (c.strip() for c in spec.split(",")):
        if not clause:
            continue
        op = next((o for o in OPERATORS if clause.startswith(o)), None)
        if op is None or "*" in clause:
            raise ValueError(f"unsupported Requires-Python clause {clause!r} in {LOCK}")
        bound = parse_version(clause[len(op):])
        width = max(len(bound), len(version))
        have = tuple(version) + (0,) * (width - len(version))
        bound = bound + (0,) * (width - len(bound))
        ok = {">=": have >= bound, "<=": have <= bound, ">": have > bound, "<": have < bound,
              "==": have == bound, "!=": have != bound}[op]
        if not ok:
            return False
    return True


def check_platform(header: "dict[str, str]", version_info: "tuple[int, ...]", system: str,
                   machine: str, executable: str) -> "str | None":
    """None if this Python and computer can install the lock, else a message saying what to do."""
    spec = header.get("Requires-Python")
    if spec is None:
        return f"{LOCK} has no 'Requires-Python' line: unzip the course bundle again."
    version = tuple(version_info[:3])
    if not allows(spec, version):
        shown = ".".join(str(v) for v in version)
        return (f"This course needs Python {spec} (the pinned packages have no builds for other "
                f"versions); this is Python {shown} ({executable}).\n"
                "Install a suitable Python from https://www.python.org/downloads/ and run this "
                "script with it, e.g. 'python3.12 install.py' (Linux, macOS) or "
                "'py -3.12 install.py' (Windows).")
    unsupported = [p.strip() for p in header.get("Unsupported-Platforms", "").split(",") if p.strip()]
    here = f"{system} {machine}"
    if here.lower() in (p.lower() for p in unsupported):
        hint = ""
        if system == "Darwin":
            hint = (" On an Apple Silicon Mac this means the Python is an Intel (x86_64) build "
                    "running under Rosetta: use an arm64 Python (python.org's installer, or "
                    "Homebrew's in /opt/homebrew).")
        return (f"PyTorch publishes no build of the course's version for {here}, so the course "
                f"cannot be installed with this Python ({executable}).{hint} Otherwise use "
                "another computer and tell your instructor.")
    return None


def venv_python(venv: Path, windows: bool) -> Path:
    """The interpreter of a virtual environment: Scripts\\python.exe on Windows, bin/python else."""
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


def venv_version(python: Path) -> "tuple[int, ...] | None":
    """The Python version of an existing virtual environment; None if its interpreter does not run."""
    try:
        out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:3], sep='.')"],
                             capture_output=True, text=True, timeout=60)
        return parse_version(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def commands(root: Path, python: str, windows: bool, venv_exists: bool) -> "list[list[str]]":
    """The commands that set up the course in ``root``, in order."""
    vpy = str(venv_python(root / VENV, windows))
    steps = [] if venv_exists else [[python, "-m", "venv", str(root / VENV)]]
    return steps + [
        [vpy, "-m", "pip", "install", "-r", str(root / LOCK)],
        # editable: course_config finds the notebooks next to itself, in this folder
        [vpy, "-m", "pip", "install", "--no-deps", "-e", str(root)],
        [vpy, "-m", "jupyterlab.labextensions", "disable", "--level=sys_prefix",
         NBGRADER_LABEXTENSION],
        [vpy, "-m", "jupyterlab", "--version"],
    ]


def assignment_dir(root: Path) -> str:
    """notebooks/<assignment>, the folder of the notebooks to open and submit."""
    folders = sorted(p.name for p in (root / "notebooks").glob("*") if p.is_dir())
    return "notebooks/" + folders[0] if len(folders) == 1 else "notebooks"


def next_steps(assignment_dir: str, windows: bool) -> str:
    """What to type after a successful set-up, with this system's paths."""
    sep = "\\" if windows else "/"
    tools = sep.join((VENV, "Scripts" if windows else "bin", ""))
    notebooks = assignment_dir.replace("/", sep)
    return ("Set-up done. In this folder:\n"
            f"  start JupyterLab:         {tools}jupyter lab {notebooks}\n"
            f"  check before submitting:  {tools}python -m wdlab.validate\n"
            f"Submit the .ipynb files of {notebooks} under their original names.")


def failure(command: "list[str]", status: int) -> str:
    """A message for a failed step that says what to try."""
    if command[1:3] == ["-m", "venv"]:
        return (f"Could not create {VENV} (exit status {status}). On Debian or Ubuntu install "
                "Python's venv module first (sudo apt install python3-venv), delete the "
                f"{VENV} folder if one was left, and run this script again.")
    if command[1:3] == ["-m", "pip"]:
        return (f"pip failed (exit status {status}); its messages are above. Check the internet "
                f"connection and run this script again: it reuses {VENV}.")
    return f"'{' '.join(command)}' failed (exit status {status}); its messages are above."


def main(argv: "list[str] | None" = None, version_info: "tuple[int, ...] | None" = None) -> int:
    """Check, then set up. 0 on success, 2 when this Python or computer cannot be used (nothing
    has run then), else the exit status of the step that failed."""
    parser = argparse.ArgumentParser(description="Set up the course's Python environment in .venv.")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent
    lock = root / LOCK
    if not lock.is_file():
        print(f"{LOCK} is missing next to install.py: unzip the course bundle again.", file=sys.stderr)
        return 2
    header = lock_header(lock.read_text(encoding="utf-8"))
    message = check_platform(header, version_info or tuple(sys.version_info), platform.system(),
                             platform.machine(), sys.executable)
    windows = os.name == "nt"
    python = venv_python(root / VENV, windows)
    if message is None and python.exists():
        version = venv_version(python)
        if version is None or not allows(header["Requires-Python"], version):
            made_with = "a Python that no longer runs" if version is None else \
                "Python " + ".".join(str(v) for v in version)
            message = (f"The {VENV} folder here was made with {made_with}, which this course "
                       f"cannot use (it needs Python {header['Requires-Python']}): delete {VENV} "
                       "and run this script again.")
    if message:
        print(message, file=sys.stderr)
        return 2
    for command in commands(root, sys.executable, windows, python.exists()):
        print("+ " + " ".join(command), flush=True)
        if args.dry_run:
            continue
        status = subprocess.call(command)
        if status != 0:
            print(failure(command, status), file=sys.stderr)
            return status
    if not args.dry_run:
        print("\n" + next_steps(assignment_dir(root), windows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
