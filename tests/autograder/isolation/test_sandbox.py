"""The sandbox: empty environment, no network, limits, a killer for the whole process group,
and (with bubblewrap) a view without the instructor's files."""
import sys
import time

import pytest

from autograder.course import Course
from autograder.isolation import sandbox
from autograder.isolation.limits import Limits
from course_config import CONFIG, ROOT

MODES = ["rlimits", pytest.param("bwrap", marks=pytest.mark.skipif(
    sandbox.bwrap_path() is None, reason="bubblewrap not installed (apt-get install -y bubblewrap)"))]
pytestmark = pytest.mark.filterwarnings("ignore::autograder.isolation.sandbox.SandboxWarning")


def _py(code, tmp_path, mode, **limits):
    """Run ``code`` sandboxed with the course's student-visible code readable, as the grader does."""
    return sandbox.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, mode=mode,
                       limits=Limits(**{"wall_s": 20, **limits}),
                       readable=Course(CONFIG).student_code())


@pytest.mark.parametrize("mode", MODES)
def test_environment_is_empty_and_cwd_is_the_job(tmp_path, mode):
    r = _py("import os; print(sorted(os.environ)); print(os.getcwd())", tmp_path, mode)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "VIRTUAL_ENV" not in out and "COURSE_" not in out and str(tmp_path) in out


@pytest.mark.parametrize("mode", MODES)
def test_wall_clock_kills_the_whole_group(tmp_path, mode):
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\ntime.sleep(60)"
    start = time.monotonic()
    r = _py(code, tmp_path, mode, wall_s=1.5)
    assert r.timed_out and time.monotonic() - start < 15


@pytest.mark.parametrize("mode", MODES)
def test_enormous_output_is_capped_not_kept(tmp_path, mode):
    r = _py("import sys\nfor _ in range(300): sys.stdout.write('x' * 100000)", tmp_path, mode,
            output_bytes=1000)
    assert r.output_truncated and len(r.stdout) <= 1000 and r.output_bytes >= 3 * 10 ** 7


@pytest.mark.parametrize("mode", MODES)
def test_memory_cap(tmp_path, mode):
    r = _py("x = bytearray(2 * 1024 ** 3)", tmp_path, mode, memory_mb=512)
    assert r.returncode != 0 and b"MemoryError" in r.stderr


def test_bwrap_view_hides_instructor_files_and_network(tmp_path):
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap not installed")
    code = ("import os, socket\n"
            f"print([p for p in ('autograder', 'solutions', '.course_state', 'tests') "
            f"if os.path.exists(os.path.join({str(ROOT)!r}, p))])\n"
            f"print(os.path.isdir({str(ROOT / 'wdlab')!r}))\n"
            "try:\n    socket.create_connection(('8.8.8.8', 53), timeout=2); print('net')\n"
            "except OSError:\n    print('no-net')\n"
            "try:\n    open('/usr/evil', 'w'); print('wrote')\nexcept OSError:\n    print('ro')\n")
    r = _py(code, tmp_path, "bwrap")
    lines = r.stdout.decode().split()
    assert lines == ["[]", "True", "no-net", "ro"], r.stderr


def test_bwrap_plots_without_writing_to_stderr(tmp_path):
    """nbgrader zeroes a test cell that writes to stderr: a plot in the sandboxed kernel must not
    (matplotlib runs fc-list, which complains when /etc/fonts is hidden)."""
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap not installed")
    code = ("import matplotlib.pyplot as plt\nplt.title('x')\n"
            "plt.savefig('plot.png')\nprint('drawn')")
    r = sandbox.run([sys.executable, "-c", code], cwd=tmp_path, mode="bwrap",
                    limits=Limits(wall_s=60))
    assert r.returncode == 0 and r.stdout.decode().split() == ["drawn"], r.stderr
    assert r.stderr.decode() == ""


def test_bwrap_fork_bomb_is_contained(tmp_path):
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap not installed")
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    r = _py(code, tmp_path, "bwrap", wall_s=3, nproc=32)
    assert r.timed_out


def test_wrap_argv_keeps_the_command_at_the_end():
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap not installed")
    argv = sandbox.wrap_argv(["python", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"],
                             writable=["/tmp/job"], network=True)
    assert argv[-5:] == ["python", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]
    assert "--unshare-net" not in argv and "--clearenv" in argv


def test_weaker_isolation_is_said_once_per_run(monkeypatch, recwarn):
    """Without bubblewrap, `grade` says so once; its workers and kernels (which inherit the
    environment) and repeated launches do not repeat it (30 copies were printed before)."""
    monkeypatch.delenv(sandbox.WARNED_ENV, raising=False)
    monkeypatch.setattr(sandbox, "isolation", lambda: "rlimits")
    sandbox.warn_degraded("no bubblewrap: apt-get install -y bubblewrap")
    sandbox.warn("no bubblewrap: student code can read world-readable files")
    sandbox.warn_degraded("no bubblewrap: apt-get install -y bubblewrap")
    shown = [w for w in recwarn if issubclass(w.category, sandbox.SandboxWarning)]
    assert [str(w.message) for w in shown] == ["no bubblewrap: apt-get install -y bubblewrap"]


def test_each_distinct_note_is_said_once(monkeypatch, recwarn):
    monkeypatch.delenv(sandbox.WARNED_ENV, raising=False)
    for _ in range(3):
        sandbox.warn("note a")
        sandbox.warn("note b")
    assert [str(w.message) for w in recwarn] == ["note a", "note b"]
