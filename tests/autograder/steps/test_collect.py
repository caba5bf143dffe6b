"""`collect`: named LMS layouts, rosters, conflicts that stop before writing, the --prefer rule,
unreadable and oversized files, hostile names; nothing guessed, no two students merged."""
import json
import os
import zipfile

import nbformat
import pytest

import course_config
from autograder import cli
from autograder.course import Course
from autograder.steps import collect, release
from tests.autograder.pipeline_course import NOTEBOOK, make_course

NOTEBOOKS = ("01_sgd_weight_decay", "02_adaptive_preconditioning", "03_adam_adamw")
NB = "03_adam_adamw"
STAMP = "2026-11-20-10-00-00"


# ---- identify: what a name says --------------------------------------------------------------

@pytest.mark.parametrize("name, student, notebook, source", [
    ("ann/weight_decay/03_adam_adamw.ipynb", "ann", NB, "folder ann/"),
    ("export/ann/weight_decay/01_sgd_weight_decay.ipynb", "ann", "01_sgd_weight_decay",
     "folder export/ann/"),
    ("jane_doe/weight_decay/03_adam_adamw.ipynb", "jane_doe", NB, "folder jane_doe/"),
    # Canvas: the name part ends at the first _<user id>_<file id>_, not at the first "_"
    ("ann_lee_1001_2001_03_adam_adamw.ipynb", "ann_lee", NB, "Canvas user 1001"),
    ("ann_kim_1002_2002_03_adam_adamw.ipynb", "ann_kim", NB, "Canvas user 1002"),
    ("submissions/smithjohn_12345_67890_03_adam_adamw.ipynb", "smithjohn", NB,
     "Canvas user 12345"),
    ("anon_Xk29q_555_03_adam_adamw.ipynb", "anon_Xk29q", NB, "Canvas anonymous id anon_Xk29q"),
    # Blackboard: the assignment part is not the student, whatever it contains
    (f"weight_decay_jdoe_attempt_{STAMP}_03_adam_adamw.ipynb", "jdoe", NB,
     "Blackboard name part 'weight_decay_jdoe'"),
    (f"weight_decay_mroe_attempt_{STAMP}_03_adam_adamw.ipynb", "mroe", NB,
     "Blackboard name part 'weight_decay_mroe'"),
    (f"weight_decay_jane_doe_attempt_{STAMP}_03_adam_adamw.ipynb", "jane_doe", NB,
     "Blackboard name part 'weight_decay_jane_doe'"),
    (f"Lab 3_jdoe_attempt_{STAMP}_03_adam_adamw.ipynb", "jdoe", NB,
     "Blackboard name part 'Lab 3_jdoe'"),
    # Moodle: a folder per submission (or the flat download); the id comes from the participant
    ("Ann Lee_123456_assignsubmission_file_/03_adam_adamw.ipynb", "", NB,
     "Moodle participant 123456 ('Ann Lee')"),
    ("dl/Ann Lee_123456_assignsubmission_file/03_adam_adamw.ipynb", "", NB,
     "Moodle participant 123456 ('Ann Lee')"),
    ("Ann Lee_123456_assignsubmission_file_03_adam_adamw.ipynb", "", NB,
     "Moodle participant 123456 ('Ann Lee')"),
])
def test_identify_reads_each_lms_layout(name, student, notebook, source):
    found = collect.identify(name, "weight_decay", NOTEBOOKS)
    assert (found.student, found.notebook, found.source) == (student, notebook, source)


def test_identify_reads_canvas_late_and_resubmissions_and_blackboard_attempts():
    late = collect.identify("smithjohn_LATE_12345_67890_03_adam_adamw-12.ipynb", "weight_decay",
                            NOTEBOOKS)
    assert (late.student, late.late, late.order) == ("smithjohn", True, (12, 67890))
    attempt = collect.identify(f"hw_jdoe_attempt_{STAMP}_03_adam_adamw.ipynb", "weight_decay",
                               NOTEBOOKS)
    assert attempt.order == (2026, 11, 20, 10, 0, 0)
    moodle = collect.identify("Ann Lee_7_assignsubmission_file_/03_adam_adamw.ipynb",
                              "weight_decay", NOTEBOOKS)
    assert moodle.fallback == "moodle-7"


@pytest.mark.parametrize("name, reason", [
    ("notes.txt", "not a notebook"),
    ("bob_02_adaptive_preconditioning.ipynb", "fits no known layout"),
    ("smithjohn_12345_homework.ipynb", "fits no known layout"),
    ("03_adam_adamw.ipynb", "fits no known layout"),
    ("../../evil_1_2_03_adam_adamw.ipynb", "'..' in the path"),
    ("/etc/evil_1_2_03_adam_adamw.ipynb", "absolute path"),
    ("ann/weight_decay/.ipynb_checkpoints/03_adam_adamw-checkpoint.ipynb", "system file"),
])
def test_identify_explains_what_it_does_not_recognise(name, reason):
    assert reason in collect.identify(name, "weight_decay", NOTEBOOKS)


def test_identify_names_the_notebook_that_is_not_one_of_the_course():
    found = collect.identify("ann/weight_decay/04_extra.ipynb", "weight_decay", NOTEBOOKS)
    assert found.notebook is None and "not one of" in found.problem


def test_identify_stops_on_a_name_two_layouts_read_differently():
    name = "Ann Lee_5_assignsubmission_file_/weight_decay/03_adam_adamw.ipynb"
    with pytest.raises(collect.CollectConflict, match="moodle .*--pattern|nbgrader .*--pattern"):
        collect.identify(name, "weight_decay", NOTEBOOKS)


def test_pattern_gives_the_instructors_own_layout():
    layout = collect.parse_pattern(r"(?P<student>[^/]+)--(?P<attempt>\d+)--(?P<notebook>[^/]+)")
    found = collect.identify("x/jane_doe--3--03_adam_adamw.ipynb", "weight_decay", NOTEBOOKS,
                             (layout,))
    assert (found.student, found.notebook, found.order) == ("jane_doe", NB, (3,))
    with pytest.raises(ValueError, match="lacks the named group"):
        collect.parse_pattern(r"(?P<student>\w+)_(?P<nb>\w+)")
    with pytest.raises(ValueError, match="not a regular expression"):
        collect.parse_pattern(r"(?P<student>")


@pytest.mark.parametrize("student", ["jane_doe", "J.Doe-2", "jdoe@uni.edu", "s1234567", "Zoë"])
def test_everyday_ids_are_accepted(student):
    assert collect.student_id_problem(student) is None


@pytest.mark.parametrize("student, problem", [
    ("", "empty"), (".", "relative"), ("..", "relative"), (".ann", "starts with '.'"),
    ("a/b", "path separator"), ("a\\b", "path separator"), ("a\x00b", "control"),
    ("a\nb", "control"), (" ann", "space"), ("a*", "nbgrader expands"), ("x" * 129, "128"),
])
def test_unsafe_ids_are_refused(student, problem):
    assert problem in collect.student_id_problem(student)


# ---- collect ----------------------------------------------------------------------------------

@pytest.fixture
def plain(tmp_path):
    """The course's three notebooks, a gradebook in tmp_path/state, nothing released."""
    return Course(course_config.load({"state_dir": str(tmp_path / "state")}, environ={}), tmp_path)


def notebook_bytes(marker: str, output: str = "") -> bytes:
    cell = nbformat.v4.new_code_cell(f"# {marker}", execution_count=1 if output else None)
    if output:
        cell.outputs = [nbformat.v4.new_output("stream", text=output)]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"marker": marker})
    return nbformat.writes(nb).encode()


def downloads(tmp_path, files: dict[str, bytes]):
    root = tmp_path / "downloads"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def submitted(course, student, notebook=NB) -> str:
    return (course.submitted(student) / f"{notebook}.ipynb").read_text()


def test_canvas_students_who_share_a_first_name_stay_two_students(plain, tmp_path):
    src = downloads(tmp_path, {f"ann_lee_1001_2001_{NB}.ipynb": notebook_bytes("lee correct"),
                               f"ann_kim_1002_2002_{NB}.ipynb": notebook_bytes("kim empty")})
    result = collect.collect(plain, src)
    assert result.students == ["ann_kim", "ann_lee"]
    assert "lee correct" in submitted(plain, "ann_lee")
    assert "kim empty" in submitted(plain, "ann_kim")
    assert not any("superseded" in reason for _, reason in result.unrecognised)


def test_blackboard_students_are_not_the_assignment_name(plain, tmp_path):
    src = downloads(tmp_path, {
        f"weight_decay_jdoe_attempt_{STAMP}_{NB}.ipynb": notebook_bytes("jdoe"),
        f"weight_decay_jdoe_attempt_{STAMP}.txt": b"receipt",
        f"weight_decay_mroe_attempt_{STAMP}_{NB}.ipynb": notebook_bytes("mroe")})
    result = collect.collect(plain, src)
    assert result.students == ["jdoe", "mroe"]
    assert "jdoe" in submitted(plain, "jdoe") and "mroe" in submitted(plain, "mroe")


def test_two_sources_for_one_id_stop_collect_and_write_nothing(plain, tmp_path):
    # Two Canvas users whose names both read "smithjohn": merging them would grade one for both.
    src = downloads(tmp_path, {f"smithjohn_1001_2001_{NB}.ipynb": notebook_bytes("first"),
                               f"smithjohn_1002_2002_{NB}.ipynb": notebook_bytes("second"),
                               f"bob_1003_2003_{NB}.ipynb": notebook_bytes("bob")})
    with pytest.raises(collect.CollectConflict) as stop:
        collect.collect(plain, src)
    message = str(stop.value)
    assert "'smithjohn' would merge 2 sources" in message
    assert "Canvas user 1001" in message and "Canvas user 1002" in message
    assert "--roster" in message and "--pattern" in message
    assert not (tmp_path / "state").exists()  # no notebook, no folder, no gradebook


def test_a_name_two_layouts_read_differently_stops_collect(plain, tmp_path):
    src = downloads(tmp_path, {
        f"Ann Lee_5_assignsubmission_file_/weight_decay/{NB}.ipynb": notebook_bytes("x")})
    with pytest.raises(collect.CollectConflict, match="fits .* and .*--pattern"):
        collect.collect(plain, src)
    assert not (tmp_path / "state").exists()


def test_unsafe_id_is_skipped_with_the_id_and_the_file_named(plain, tmp_path):
    src = downloads(tmp_path, {f"a*b--{NB}.ipynb": notebook_bytes("glob"),
                               f"ok--{NB}.ipynb": notebook_bytes("ok")})
    result = collect.collect(plain, src, pattern=r"(?P<student>[^/]+)--(?P<notebook>[^/]+)")
    reasons = dict(result.unrecognised)
    assert "student id 'a*b'" in reasons[f"a*b--{NB}.ipynb"]
    assert f"a*b--{NB}.ipynb refused" in reasons[f"a*b--{NB}.ipynb"]
    assert result.students == ["ok"]


def write_roster(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def test_roster_maps_lms_names_to_ids_and_registers_students_without_files(plain, tmp_path):
    roster = write_roster(tmp_path, "student_id,name,email,lms_id,participant_id\n"
                                    "s001,Ann Lee,ann@uni.edu,1001,\n"
                                    "s002,Ann Kim,,1002,\n"
                                    "s003,Bo Chen,,,\n")
    src = downloads(tmp_path, {f"ann_lee_1001_2001_{NB}.ipynb": notebook_bytes("lee"),
                               f"ann_kim_1002_2002_{NB}.ipynb": notebook_bytes("kim")})
    result = collect.collect(plain, src, roster=roster)
    assert result.students == ["s001", "s002", "s003"]
    assert "lee" in submitted(plain, "s001") and "kim" in submitted(plain, "s002")
    # on the roster, no file: an empty submission folder, so grade gives a row (0, missing)
    assert plain.submitted("s003").is_dir() and not any(plain.submitted("s003").iterdir())
    assert plain.students() == ["s001", "s002", "s003"]
    with plain.gradebook() as gb:
        assert sorted(s.id for s in gb.students) == ["s001", "s002", "s003"]
        assert gb.find_student("s001").email == "ann@uni.edu"


def test_moodle_uses_the_roster_or_a_participant_id_and_says_so(plain, tmp_path):
    src = downloads(tmp_path, {
        f"Ann Lee_123_assignsubmission_file_/{NB}.ipynb": notebook_bytes("ann"),
        f"Bo Chen_456_assignsubmission_file_/{NB}.ipynb": notebook_bytes("bo")})
    roster = write_roster(tmp_path, "id,name,participant_id\nalee,Ann Lee,\nbchen,,456\n")
    assert collect.collect(plain, src, roster=roster).students == ["alee", "bchen"]
    assert "ann" in submitted(plain, "alee") and "bo" in submitted(plain, "bchen")
    other = Course(course_config.load({"state_dir": str(tmp_path / "s2")}, environ={}), tmp_path)
    result = collect.collect(other, src)
    assert result.students == ["moodle-123", "moodle-456"]
    notes = dict(result.notes)
    assert "participant id" in notes["moodle-123"] and "--roster" in notes["moodle-123"]


def test_files_that_match_no_roster_row_or_two_stop_collect(plain, tmp_path):
    roster = write_roster(tmp_path, "id,email,lms_id\nann,,1001\nann2,ann_lee@uni.edu,\n")
    src = downloads(tmp_path, {f"ann_lee_1001_2001_{NB}.ipynb": notebook_bytes("two rows"),
                               f"zed_1009_2009_{NB}.ipynb": notebook_bytes("no row")})
    with pytest.raises(collect.CollectConflict) as stop:
        collect.collect(plain, src, roster=roster)
    assert stop.value.conflicts[0].startswith("Canvas user 1001: matches roster ids ['ann', 'ann2']")
    assert "Canvas user 1009: matches no roster row" in stop.value.conflicts[1]
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("text, message", [
    ("name,email\nAnn,a@b\n", "exactly one column 'id' or 'student_id'"),
    ("id\nann\nAnn\n", "already on line 2"),
    ("id,lms_id\nann,7\nbob,7\n", "lms_id '7' is already on line 2"),
    ("id\na/x\n", "student id 'a/x' holds a path separator"),
])
def test_bad_rosters_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        collect.load_roster(write_roster(tmp_path, text))


@pytest.mark.parametrize("prefer, winner", [("latest", "-10"), ("on-time", "-9")])
def test_prefer_decides_between_files_by_number_never_by_string_order(plain, tmp_path, prefer,
                                                                      winner):
    src = downloads(tmp_path, {f"ann_1_50_{NB}.ipynb": notebook_bytes("first"),
                               f"ann_1_59_{NB}-9.ipynb": notebook_bytes("-9"),
                               f"ann_LATE_1_60_{NB}-10.ipynb": notebook_bytes("-10")})
    result = collect.collect(plain, src, prefer=prefer)
    assert f"# {winner}" in submitted(plain, "ann")
    reasons = dict(result.unrecognised)
    chosen = next(source for _, _, source in result.collected)
    assert reasons[f"ann_1_50_{NB}.ipynb"] == f"superseded by {chosen} (rule: {prefer})"


def test_blackboard_latest_attempt_wins(plain, tmp_path):
    src = downloads(tmp_path, {
        f"weight_decay_jdoe_attempt_2026-11-20-09-59-59_{NB}.ipynb": notebook_bytes("early"),
        f"weight_decay_jdoe_attempt_2026-11-21-08-00-00_{NB}.ipynb": notebook_bytes("late")})
    collect.collect(plain, src)
    assert "# late" in submitted(plain, "jdoe")


def corrupt_member(archive, member: str) -> None:
    """Flip one byte of ``member``'s stored data so that its CRC no longer matches."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    data = bytearray(archive.read_bytes())
    name_len, extra_len = (int.from_bytes(data[info.header_offset + i:info.header_offset + i + 2],
                                          "little") for i in (26, 28))
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    archive.write_bytes(bytes(data))


def test_a_corrupt_zip_entry_is_reported_and_the_next_student_collected(plain, tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"ann_1_10_{NB}.ipynb", notebook_bytes("ann"))
        zf.writestr(f"bob_2_20_{NB}.ipynb", notebook_bytes("bob"))
    corrupt_member(archive, f"ann_1_10_{NB}.ipynb")
    result = collect.collect(plain, archive)
    reasons = dict(result.unrecognised)
    assert reasons[f"ann_1_10_{NB}.ipynb"].startswith("unreadable: BadZipFile: Bad CRC-32")
    assert result.students == ["bob"] and "bob" in submitted(plain, "bob")
    assert not plain.submitted("ann").exists()  # the download's fault: no empty folder, no 0
    # on the roster, ann still gets her row
    other = Course(course_config.load({"state_dir": str(tmp_path / "s2")}, environ={}), tmp_path)
    roster = write_roster(tmp_path, "id,lms_id\nann,1\nbob,2\n")
    assert collect.collect(other, archive, roster=roster).students == ["ann", "bob"]
    assert other.submitted("ann").is_dir()


def test_a_large_notebook_is_collected_with_its_outputs_stripped(plain, tmp_path):
    big = notebook_bytes("big but correct", output="x" * (25 << 20))
    assert len(big) > collect.MAX_NOTEBOOK_BYTES
    src = downloads(tmp_path, {f"ann_1_10_{NB}.ipynb": big})
    result = collect.collect(plain, src)
    assert result.collected == [("ann", NB, f"ann_1_10_{NB}.ipynb")]
    assert dict(result.notes)[f"ann_1_10_{NB}.ipynb"] == "outputs stripped (25.0 MiB)"
    nb = json.loads(submitted(plain, "ann"))
    assert nb["cells"][0]["outputs"] == [] and nb["cells"][0]["execution_count"] is None
    assert "".join(nb["cells"][0]["source"]) == "# big but correct"
    assert nb["metadata"]["marker"] == "big but correct"


def test_too_large_files_are_refused_and_never_read_past_the_limit(plain, tmp_path, monkeypatch):
    monkeypatch.setattr(collect.download, "MAX_NOTEBOOK_BYTES", 1000)
    monkeypatch.setattr(collect.download, "HARD_LIMIT_BYTES", 1 << 20)
    archive = tmp_path / "dl.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"ann_1_10_{NB}.ipynb", notebook_bytes("y" * 2000))  # big source: stays big
        zf.writestr(f"bob_2_20_{NB}.ipynb", b"0" * (2 << 20))  # a bomb, as far as this limit goes
        zf.writestr(f"cyd_3_30_{NB}.ipynb", b"{" + b" " * 5000)
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, info, *a, **k: opened.append(info.filename)
                        or real_open(self, info, *a, **k))
    reasons = dict(collect.collect(plain, archive).unrecognised)
    assert "still over 0.0 MiB" in reasons[f"ann_1_10_{NB}.ipynb"]
    assert reasons[f"bob_2_20_{NB}.ipynb"].endswith("over the hard limit of 1.0 MiB (not read)")
    assert f"bob_2_20_{NB}.ipynb" not in opened
    assert "not a readable notebook" in reasons[f"cyd_3_30_{NB}.ipynb"]


def put_nul_in_name(archive, marked: str) -> None:
    """Turn the '@' of member ``marked`` into a NUL byte (zipfile cannot write one)."""
    archive.write_bytes(archive.read_bytes().replace(marked.encode(),
                                                     marked.replace("@", "\x00").encode()))


def test_hostile_zip_names_are_reported_and_nothing_is_written_outside(plain, tmp_path):
    archive = tmp_path / "dl" / "canvas.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"smithjohn_LATE_1_2_{NB}.ipynb", notebook_bytes("ok"))
        zf.writestr(f"nul_3_4_{NB}.ipynb@.txt", notebook_bytes("nul"))
        for name in (f"../../evil_5_6_{NB}.ipynb", f"/tmp/abs_7_8_{NB}.ipynb",
                     f"a\\..\\..\\back_9_9_{NB}.ipynb"):
            zf.writestr(name, notebook_bytes("evil"))
        link = zipfile.ZipInfo(f"lnk_10_10_{NB}.ipynb")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("__MACOSX/._x.ipynb", b"junk")
    put_nul_in_name(archive, f"nul_3_4_{NB}.ipynb@.txt")
    result = collect.collect(plain, archive)
    reasons = dict(result.unrecognised)
    assert result.students == ["smithjohn"]
    assert reasons[f"nul_3_4_{NB}.ipynb\\x00.txt"] == "unsafe name: it holds a NUL byte"
    assert reasons[f"../../evil_5_6_{NB}.ipynb"] == "unsafe name: '..' in the path"
    assert reasons[f"/tmp/abs_7_8_{NB}.ipynb"] == "unsafe name: an absolute path"
    assert reasons[f"a\\..\\..\\back_9_9_{NB}.ipynb"] == "unsafe name: '..' in the path"
    assert reasons[f"lnk_10_10_{NB}.ipynb"] == "symbolic link: not followed"
    assert "__MACOSX/._x.ipynb" not in reasons
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written - {"dl/canvas.zip"} <= {f"state/submitted/smithjohn/weight_decay/{NB}.ipynb",
                                          "state/gradebook.db"}


def test_symlinks_out_of_a_folder_source_are_not_followed(plain, tmp_path):
    outside = tmp_path / "outside"
    (outside / "weight_decay").mkdir(parents=True)
    (outside / "weight_decay" / f"{NB}.ipynb").write_bytes(notebook_bytes("SECRET"))
    src = downloads(tmp_path, {f"ann_1_10_{NB}.ipynb": notebook_bytes("ann")})
    os.symlink(outside / "weight_decay" / f"{NB}.ipynb", src / f"eve_2_20_{NB}.ipynb")
    os.symlink(outside, src / "mal")
    result = collect.collect(plain, src)
    reasons = dict(result.unrecognised)
    assert reasons[f"eve_2_20_{NB}.ipynb"] == "symbolic link: not followed"
    assert reasons["mal"] == "symbolic link: not followed"
    assert result.students == ["ann"]
    assert not any("SECRET" in p.read_text() for p in plain.submitted().rglob("*.ipynb"))


def test_a_failed_write_leaves_no_half_written_notebook(plain, tmp_path, monkeypatch):
    src = downloads(tmp_path, {f"ann_1_10_{NB}.ipynb": notebook_bytes("ann")})

    def disk_full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        collect.collect(plain, src)
    assert list(plain.submitted("ann").iterdir()) == []  # neither the notebook nor its temp file


def test_a_student_whose_files_hold_no_notebook_still_gets_a_row(plain, tmp_path):
    src = downloads(tmp_path, {f"ann_1_10_{NB}.ipynb": notebook_bytes("ann"),
                               "bob_2_20_report.pdf": b"%PDF"})
    result = collect.collect(plain, src)
    assert result.students == ["ann", "bob"]
    assert plain.submitted("bob").is_dir() and not any(plain.submitted("bob").iterdir())
    assert dict(result.unrecognised)["bob_2_20_report.pdf"] == "not a notebook"


def test_cli_prints_one_line_per_file_and_conflicts_as_errors(tmp_path, capsys):
    src = downloads(tmp_path, {f"ann_1_10_{NB}.ipynb": notebook_bytes("a"),
                               f"ann_1_11_{NB}-1.ipynb": notebook_bytes("b"),
                               "readme.txt": b"hi"})
    roster = write_roster(tmp_path, "id,lms_id\nann,1\nbo,\n")
    state = tmp_path / "state"
    assert cli.main(["--state-dir", str(state), "collect", str(src), "--roster", str(roster)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["collected", "ann", NB, "<-", f"ann_1_11_{NB}-1.ipynb"]
    assert f"skipped    ann_1_10_{NB}.ipynb: superseded by ann_1_11_{NB}-1.ipynb (rule: latest)" \
        in out
    assert "skipped    readme.txt: not a notebook" in out
    assert out[-1] == "1 notebooks from 1 students; 1 more registered without a notebook; " \
                      "2 files skipped"
    (src / f"ann_2_12_{NB}.ipynb").write_bytes(notebook_bytes("c"))
    assert cli.main(["--state-dir", str(state), "collect", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: collect stopped before writing anything: 1 conflict")
    assert "Canvas user 1" in err and "Canvas user 2" in err


# ---- the pipeline course: collect feeds nbgrader's gradebook ------------------------------------

@pytest.fixture
def course(tmp_path):
    course = make_course(tmp_path / "course")
    release.generate(course)
    return course


def _notebook(course):
    return (course.release_dir / f"{NOTEBOOK}.ipynb").read_bytes()


def test_collect_folder_copies_recognised_and_registers_students(course, tmp_path):
    src = tmp_path / "downloads"
    (src / "ann" / "weight_decay").mkdir(parents=True)
    (src / "ann" / "weight_decay" / f"{NOTEBOOK}.ipynb").write_bytes(_notebook(course))
    (src / f"bob_11_22_{NOTEBOOK}.ipynb").write_bytes(_notebook(course))
    (src / f"bob_11_23_{NOTEBOOK}-1.ipynb").write_bytes(_notebook(course) + b"\n")
    (src / "readme.txt").write_text("hi")
    result = collect.collect(course, src)
    assert result.students == ["ann", "bob"]
    assert course.students() == ["ann", "bob"]
    # the Canvas resubmission (-1) wins over the first upload
    assert (course.submitted("bob") / f"{NOTEBOOK}.ipynb").read_bytes() == _notebook(course) + b"\n"
    reasons = dict(result.unrecognised)
    assert reasons["readme.txt"] == "not a notebook"
    assert "superseded" in reasons[f"bob_11_22_{NOTEBOOK}.ipynb"]
    with course.gradebook() as gb:
        assert sorted(s.id for s in gb.students) == ["ann", "bob"]


def test_collect_zip_never_extracts_paths(course, tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"smithjohn_LATE_1_2_{NOTEBOOK}.ipynb", _notebook(course))
        zf.writestr(f"../../evil_1_2_{NOTEBOOK}.ipynb", _notebook(course))
        zf.writestr("__MACOSX/._x.ipynb", b"junk")
    result = collect.collect(course, archive)
    assert result.students == ["smithjohn"]  # a zip-slip name is reported, not collected
    assert not (tmp_path.parent / f"evil_1_2_{NOTEBOOK}.ipynb").exists()
    assert (course.submitted("smithjohn") / f"{NOTEBOOK}.ipynb").exists()


def test_collect_rejects_a_path_that_is_neither_folder_nor_zip(course, tmp_path):
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(ValueError, match="PATH must be a folder or a .zip"):
        collect.collect(course, tmp_path / "x.txt")
