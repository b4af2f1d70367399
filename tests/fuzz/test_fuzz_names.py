"""The file-name contract and the names the site derives from it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from sitegen import limits
from sitegen.model import Report, ReportName, clean_text, parse_report_name, report_name, suite_problem
from sitegen.site import layout
from tests.fuzz import fuzz

names = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda d, s, e, tail: f"report-{d}-{s}.{e}{tail}",
        st.text(max_size=12),
        st.text(max_size=12),
        st.sampled_from(["pdf", "PDF", "Pdf", "pdf.bak"]),
        st.sampled_from(["", "\n", " ", "\x00"]),
    ),
)


@fuzz
@given(names)
def test_the_parser_never_raises_and_agrees_with_the_writer(name):
    parsed = parse_report_name(name)
    assert parsed is None or isinstance(parsed, ReportName)
    if parsed is not None:
        assert "\n" not in name and name.lower() == report_name(parsed.date, parsed.status).lower()


@fuzz
@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)), st.from_regex(r"[a-z][a-z0-9_]{0,40}", fullmatch=True))
def test_every_written_name_parses_back(date, status):
    assert parse_report_name(report_name(date, status)) == ReportName(date, status)


@fuzz
@given(st.text(max_size=60))
def test_suite_rule_is_a_string_or_none(suite):
    problem = suite_problem(suite)
    assert problem is None or isinstance(problem, str)
    if problem is None and suite:
        assert "/" not in suite and "\n" not in suite and suite not in (".", "..")


folders = st.one_of(
    st.sampled_from(["", "a b", "a-b", "A", "a", "2021-07-09.html", "x.PDF", "a-b~c8687a08aa", "调度", "s" * 200]),
    st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=20).filter(lambda s: not s.startswith(".")),
)


@st.composite
def sites(draw):
    """Reports whose names clash in every way the derivation has to settle."""
    reports = {}
    for _ in range(draw(st.integers(1, 12))):
        suite = draw(folders)
        deeper = draw(st.lists(folders.filter(bool), max_size=2))
        status = draw(st.sampled_from(["bad", "good", "BAD", "x" * 200]))
        date = draw(st.sampled_from([dt.date(2021, 7, 9), dt.date(2021, 7, 10)]))
        ext = draw(st.sampled_from(["pdf", "PDF", "Pdf"]))
        parts = [p for p in [suite, *deeper] if p]
        source = "/".join([clean_text(p) for p in parts] + [f"report-{date}-{status}.{ext}"])
        reports[source] = Report(source, date, status.lower(), clean_text(suite) if parts else "", "", "", None, 0)
    return list(reports.values())


@fuzz
@given(sites())
def test_site_paths_are_unique_bounded_and_never_a_folder_of_another(reports):
    for paths in (layout.page_paths(reports), layout.pdf_paths(reports)):
        assert set(paths) == {r.source for r in reports}
        values = [p.casefold() for p in paths.values()]
        assert len(set(values)) == len(values)
        folders_used = {"/".join(v.split("/")[:i]) for v in values for i in range(1, v.count("/") + 1)}
        assert not folders_used & set(values)  # no file where another path needs a folder
        for path in paths.values():
            assert all(0 < len(part.encode()) <= limits.NAME_BYTES for part in path.split("/")), path
            assert all(part not in (".", "..") for part in path.split("/"))
    assert layout.page_paths(reports) == layout.page_paths(list(reversed(reports)))  # stable, whatever the order
