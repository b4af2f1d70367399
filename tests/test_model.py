"""The file-name contract: one parser, one writer, and they agree."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitegen.model import Summary, parse_report_name, report_name

statuses = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@given(date=st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(9999, 12, 31)), status=statuses)
def test_name_round_trips(date, status):
    parsed = parse_report_name(report_name(date, status))
    assert parsed is not None
    assert (parsed.date, parsed.status) == (date, status)


def test_example_from_the_contract():
    parsed = parse_report_name("report-2021-07-09-bad.pdf")
    assert parsed is not None and parsed.date == dt.date(2021, 7, 9) and parsed.status == "bad"


def test_extension_and_status_are_case_insensitive():
    parsed = parse_report_name("report-2021-07-09-GOOD.PDF")
    assert parsed is not None and parsed.status == "good"


def test_impossible_dates_are_not_reports():
    assert parse_report_name("report-2021-02-30-bad.pdf") is None
    assert parse_report_name("report-2021-13-01-bad.pdf") is None


def test_other_names_are_not_reports():
    for name in ["report-2021-07-09.pdf", "notes.pdf", "report-21-07-09-bad.pdf", "report-2021-07-09-bad.pdf.bak"]:
        assert parse_report_name(name) is None, name


def test_summary_keeps_unknown_keys():
    obj = {"schema": 1, "date": "2021-07-09", "status": "bad", "title": "t", "headline": "h",
           "metrics": {"errors": 3, "note": "x"}, "injections": [{"drop": 1}]}
    summary = Summary.from_json_obj(obj)
    assert summary.metrics == {"errors": 3}
    assert summary.extra == {"injections": [{"drop": 1}]}
    assert Summary.from_json_obj(summary.to_json_obj()) == summary


def test_a_name_ending_in_a_newline_is_not_a_report():
    # `$` would match before the final newline; the contract says the whole name.
    assert parse_report_name("report-2021-07-09-bad.pdf\n") is None
    assert parse_report_name("report-2021-07-09-bad\n.pdf") is None


def test_summary_bounds_keep_the_card_alive():
    import pytest

    with pytest.raises(ValueError, match="nested deeper than the limit of 64 levels"):
        Summary.from_json_bytes(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(ValueError, match="larger than the 1 MB limit"):
        Summary.from_json_bytes(b" " * (1024 * 1024 + 1))
    summary = Summary.from_json_bytes(b'{"date":"2021-07-09","status":"bad","metrics":{"a":1' + b"0" * 400 + b',"b":NaN,"c":3}}')
    assert summary.metrics == {"c": 3}


def test_a_deferred_report_is_the_report_its_fields_make_and_loads_them_once():
    from sitegen.model import Report, SignatureSummary

    read = {"title": "t", "summary": "s", "pages": 3, "metrics": {"errors": 2}, "extra": {"x": 1}, "summary_source": "attachment",
            "signatures": (SignatureSummary("k1", "error", 1), SignatureSummary("", "warn", 2))}
    known = {"source": "a/report-2021-07-09-bad.pdf", "date": dt.date(2021, 7, 9), "status": "bad", "suite": "a", "bytes": 10,
             "problems": ("p",), "made_from": "stamp"}
    loads = []

    def load():
        loads.append(1)
        return read

    deferred = Report.deferred(load, ("k1", ""), **known)

    light = (deferred.date, deferred.suite, deferred.signature_keys, deferred.digest())
    assert light == (dt.date(2021, 7, 9), "a", ("k1", ""), "stamp")
    assert loads == []  # what every build reads of every report needs no load
    eager = Report(**known, **read)
    assert deferred == eager and deferred.summary == "s" and eager.signature_keys == ("k1", "")
    assert loads == [1]
    assert deferred.title == "t" and loads == [1]
    try:
        deferred.no_such_field  # noqa: B018 - the attribute access is the test
    except AttributeError as exc:
        assert "no_such_field" in str(exc)
    else:
        raise AssertionError("an unknown attribute must raise AttributeError")


def test_every_field_of_a_deferred_report_loads_when_it_is_read_first():
    """Whichever field a page reads first (a search shard may start with the signatures), it is the loaded value,
    never a default: a field with a plain default is a class attribute, which Python finds before __getattr__."""
    import dataclasses

    from sitegen.model import Report, SignatureSummary

    read = {"title": "t", "summary": "s", "pages": 3, "metrics": {"errors": 2}, "extra": {"x": 1}, "summary_source": "attachment",
            "signatures": (SignatureSummary("k1", "error", 1),)}
    known = {"source": "r.pdf", "date": dt.date(2021, 7, 9), "status": "bad", "suite": "", "bytes": 1, "problems": (),
             "made_from": "m"}
    eager = Report(**known, **read)
    for f in dataclasses.fields(Report):
        deferred = Report.deferred(lambda: dict(read), ("k1",), **known)
        assert getattr(deferred, f.name) == getattr(eager, f.name), f.name


def test_a_deferred_report_whose_load_fails_stays_deferred():
    from sitegen.model import Report

    calls = []

    def load():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("not this time")
        return {"title": "t", "summary": "s", "pages": 1, "metrics": {}, "extra": {}, "summary_source": "none", "signatures": ()}

    known = {"source": "r.pdf", "date": dt.date(2021, 7, 9), "status": "bad", "suite": "", "bytes": 1, "problems": (),
             "made_from": "m"}
    deferred = Report.deferred(load, (), **known)
    with pytest.raises(OSError):
        deferred.title  # noqa: B018 - the attribute access is the test
    assert deferred.title == "t" and len(calls) == 2  # not an AttributeError for a field that exists
