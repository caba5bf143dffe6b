"""The one report model: item ids, flags, and a report's JSON round trip."""
import pytest

from autograder import reports
from autograder.reports import FLAGS, ItemId, ItemResult, Report, Verdict


def test_item_ids_are_built_and_split_in_one_place():
    item = ItemId.parse("03_adam_adamw:adamw_step")
    assert item == ItemId("03_adam_adamw", "adamw_step")
    assert str(item) == "03_adam_adamw:adamw_step" and item.grade_id == "test_adamw_step"
    assert ItemId.of_cell("03_adam_adamw", "test_adamw_step") == item
    assert ItemId.of_cell("01_sgd_weight_decay", "prop1_derivation").name == "prop1_derivation"
    for bad in ("no_colon", ":fn", "nb:"):
        with pytest.raises(ValueError, match="<notebook>:<function>"):
            ItemId.parse(bad)


def test_items_of_a_notebook():
    points = {"a:f": 1.0, "a:g": 2.0, "b:h": 3.0}
    assert reports.items_of(points, "a") == {"f": 1.0, "g": 2.0}
    assert reports.items_of(points, "c") == {}


def test_scores_are_clipped_to_the_item():
    assert ItemResult("a:f", 5.0, 2.0).score == 2.0
    assert ItemResult("a:f", -1.0, 2.0).score == 0.0


def test_verdict_flags_only_known_names_and_keeps_one_reason_each():
    v = Verdict("ann")
    v.flag("timeout", "a:f: too slow")
    v.flag("timeout", "a:f: too slow")
    assert v.flags["timeout"] and v.reasons == ["a:f: too slow"]
    assert set(v.flags) == set(FLAGS)
    with pytest.raises(ValueError, match="unknown flag"):
        v.flag("timed_out", "typo")


def test_report_round_trips_through_its_json_file(tmp_path):
    report = Report(student="ann", assignment="weight_decay", score=1.5, max_score=3.0,
                    items=[ItemResult("a:f", 1.5, 2.0, message="1 of 2", misconception="x",
                                      in_kernel_score=2.0)],
                    manual=[ItemResult("a:q", 0.0, 1.0, decided_by=reports.AWAITING)],
                    flags=reports.no_flags() | {"tamper_suspected": True}, notes=["n"],
                    fingerprint="abc")
    path = tmp_path / "reports" / "ann.json"
    reports.save(report, path)
    again = reports.load(path)
    assert again == report
    assert again.flagged() == ["tamper_suspected"] and again.item("a:f").in_kernel_score == 2.0
    assert not list(path.parent.glob("*.tmp*"))  # written atomically


def test_unreadable_report_is_none_not_a_crash(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    assert reports.load(tmp_path / "bad.json") is None
    assert reports.load(tmp_path / "missing.json") is None
