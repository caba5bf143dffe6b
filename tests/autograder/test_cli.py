"""`python -m autograder`: verbs, --help, --set and --state-dir, clear errors."""
import subprocess
import sys

import pytest

from autograder import cli

VERBS = ("release", "collect", "grade", "feedback", "export", "demo")


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([verb, "--help"])
    assert stop.value.code == 0
    assert f"python -m autograder {verb}" in capsys.readouterr().out


def test_module_entry_point_lists_the_verbs():
    out = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for verb in VERBS:
        assert verb in out
    assert "--set" in out and "--state-dir" in out


def test_set_overrides_course_config(tmp_path):
    args = cli.build_parser().parse_args(["--set", "cell_timeout_s=7", "--set", "workers=3",
                                          "--state-dir", str(tmp_path), "export"])
    course = cli.make_course(args)
    assert course.cfg.cell_timeout_s == 7 and course.cfg.workers == 3
    assert course.state == tmp_path.resolve()


@pytest.mark.parametrize("argv, message", [
    (["--set", "no_such_key=1", "export"], "unknown setting 'no_such_key'"),
    (["--set", "cell_timeout_s", "export"], "--set expects KEY=VALUE"),
    (["--set", "device=tpu", "export"], "device must be one of"),
])
def test_bad_settings_are_clear_errors(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_jobs_and_bad_path(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--state-dir", str(tmp_path), "grade", "--jobs", "0"])
    assert "--jobs must be a positive integer" in capsys.readouterr().err
    assert cli.main(["--state-dir", str(tmp_path), "collect", str(tmp_path / "missing")]) == 2
    assert "PATH must be a folder or a .zip" in capsys.readouterr().err
