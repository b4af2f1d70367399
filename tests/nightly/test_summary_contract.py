"""summary.json's signatures are part of the contract (model.SignatureSummary), bounded; numbers have one format."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from sitegen.model import MAX_SUMMARY_SIGNATURES, SignatureSummary, Summary, format_metric
from sitegen.nightly.records import Signature
from sitegen.nightly.summary import build_summary
from tests.nightly.report_records import night_report


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("min_qps", 4032.92, "4,033"),
        ("max_drop_pct", 77.93, "77.9 %"),
        ("worst_ttr_s", 110, "110 s"),
        ("worst_ttr_s", 2.5, "2.5 s"),
        ("errors", 1236, "1,236"),
        ("ratio", 0.25, "0.25"),
        ("fatal", None, "—"),
        ("fatal", float("nan"), "—"),
    ],
)
def test_numbers_are_formatted_one_way(key, value, shown):
    assert format_metric(key, value) == shown


def test_signatures_are_a_first_class_field_that_round_trips():
    report, _ = night_report()
    obj = build_summary(report)
    summary = Summary.from_json_obj(obj)
    assert "signatures" not in summary.extra
    assert [s.key for s in summary.signatures] == ["a1b2c3d4", "e5f6a7b8", "c9d0e1f2"]
    panic = summary.signatures[0]
    assert (panic.kind, panic.level, panic.new, panic.component, panic.count) == ("panic", "fatal", True, "tidb-0", 2)
    assert panic.message == "panic: runtime error: index out of range [5] with length 3"
    assert Summary.from_json_obj(summary.to_json_obj()) == summary


def test_a_summary_without_signatures_says_so_and_bad_entries_cost_only_themselves():
    base = {"schema": 1, "date": "2021-07-09", "status": "bad"}
    assert Summary.from_json_obj(base).signatures is None  # another tool's summary: not known, not "none"
    assert Summary.from_json_obj({**base, "signatures": []}).signatures == ()
    mixed = [{"key": "k1", "level": "error", "count": 3, "new": True}, "junk", {"count": 2}, {"key": 5},
             {"key": "k2", "level": "warn", "count": -1, "new": "yes", "message": "a\x00b"}]
    sigs = Summary.from_json_obj({**base, "signatures": mixed}).signatures
    assert [s.key for s in sigs] == ["k1", "k2"]
    assert (sigs[0].kind, sigs[0].new) == ("error", True)
    assert (sigs[1].count, sigs[1].new, sigs[1].message) == (0, False, "a\ufffdb")
    with pytest.raises(ValueError, match="'signatures' is not a list"):
        Summary.from_json_obj({**base, "signatures": {"k": 1}})


def test_summary_json_lists_at_most_the_bound_in_rank_order():
    report, _ = night_report()
    assert report.logs is not None
    template = report.logs.signatures[-1]
    t = dt.datetime(2021, 7, 8, 9, 0, tzinfo=dt.UTC)
    many = [dataclasses.replace(template, key=f"k{i:05d}", pattern=f"noise {i}", count=1 + i % 7, first_seen=t) for i in range(1500)]
    report.logs.signatures = sorted([*report.logs.signatures, *many], key=Signature.rank)
    obj = build_summary(report)
    assert len(obj["signatures"]) == MAX_SUMMARY_SIGNATURES
    assert obj["signatures"][0]["key"] == "a1b2c3d4"  # the panic is never the one cut
    parsed = Summary.from_json_obj({**obj, "signatures": obj["signatures"] * 2})
    assert len(parsed.signatures) == MAX_SUMMARY_SIGNATURES


def test_signature_summary_keeps_the_contract_keys():
    sig = SignatureSummary(key="k", level="fatal", count=1, kind="panic")
    assert set(sig.to_json_obj()) == {"key", "level", "kind", "count", "new", "component", "message", "pattern",
                                      "first_seen", "last_seen"}
