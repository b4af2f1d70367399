"""The quick reader (site/quickpdf.py): where it answers, its answer is pypdf's; where it cannot be sure, pypdf reads.

Every PDF the tests make or collect goes through both readers: the report wing's own, the fixture's variants,
every PDF of the hostile corpus, and hand-made variants of the report wing's PDF in the shapes the quick
reader must leave to pypdf.
"""

from __future__ import annotations

import io
import json
import re
import zlib

import pytest

from sitegen.site import extract, quickpdf
from tests.hostile.corpus import all_cases

SUMMARY = {"schema": 1, "date": "2021-07-09", "status": "bad", "title": "Nightly chaos run", "headline": "TiKV panicked twice."}


def both(data: bytes) -> tuple[object, object]:
    """(the quick reader's result or None, pypdf's result or the exception it raised)."""
    quick = extract._read_quickly(data, 300)
    try:
        with extract._quiet_pypdf():
            slow: object = extract._extract_pdf(data, 300)
    except Exception as exc:
        slow = exc
    return quick, slow


def assert_same_or_left_to_pypdf(data: bytes) -> bool:
    """True when the quick reader answered (and its answer was pypdf's); False when it left the file to pypdf."""
    quick, slow = both(data)
    if quick is None:
        return False
    assert quick == slow
    return True


@pytest.fixture(scope="module")
def report_pdfs(tmp_path_factory) -> list[bytes]:
    """PDFs as `sitegen report` writes them: a full night, a night without logs or load test, one with CJK text."""
    from sitegen.config import parse_config
    from sitegen.nightly.chart import ChartData, render_svg
    from sitegen.nightly.fonts import fonts_from_config
    from sitegen.nightly.pdf import PdfContext, render_pdf
    from sitegen.nightly.summary import build_summary, encode_summary
    from tests.nightly.report_records import SINCE, UNTIL, UTC, night_report

    fonts = fonts_from_config(parse_config({}, tmp_path_factory.mktemp("cfg")).report)
    out = []
    for with_logs, with_series in ((True, True), (False, False), (True, False)):
        report, windows = night_report(with_logs=with_logs, with_series=with_series)
        chart = ChartData(series=report.series, windows=windows, injections=report.injections, tz=UTC) if report.series else None
        ctx = PdfContext(
            status_label="Needs a look", status_color="#cf222e", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL,
            chart_svg=render_svg(chart) if chart else None,
        )
        out.append(bytes(render_pdf(report, ctx, fonts, encode_summary(build_summary(report)))))
    return out


def test_the_report_wings_pdfs_are_read_without_pypdf_and_as_pypdf_reads_them(report_pdfs):
    for data in report_pdfs:
        quick, slow = both(data)
        assert quick is not None, "the report wing's PDF is of the simple shape: no pypdf needed"
        assert quick == slow
        assert quick.summary_source == "attachment" and quick.pages and quick.pages >= 1
    assert both(report_pdfs[0])[0].signatures  # the night with logs: its signatures came through


def test_every_variant_of_the_test_factory_reads_the_same_either_way(tmp_path, make_pdf):
    variants = [
        {"summary": SUMMARY},
        {"summary": SUMMARY, "pages": ["one", "two", "three", "four"]},
        {"summary": {**SUMMARY, "title": ""}, "title": "From /Info"},  # the card needs /Info: left to pypdf
        {"summary": {**SUMMARY, "headline": "  "}, "subject": "From /Subject"},
        {"summary": SUMMARY, "attachment_name": "other.json"},  # no summary.json: left to pypdf
        {"raw_attachment": b"{not json"},
        {"raw_attachment": json.dumps({**SUMMARY, "date": 5}).encode()},
        {"raw_attachment": b"[" * 10_000 + b"]" * 10_000},
        {"summary": {**SUMMARY, "title": "Ünïcödé 调度 \u202e title", "headline": "tab\there\x00nul"}},
        {"summary": SUMMARY, "owner_password": "owner"},  # encrypted: left to pypdf
        {"summary": SUMMARY, "password": "secret"},
        {"pages": ["only page text"]},
        {},
    ]
    answered = 0
    for i, kwargs in enumerate(variants):
        data = make_pdf(tmp_path / f"v{i}.pdf", **kwargs).read_bytes()
        answered += assert_same_or_left_to_pypdf(data)
    assert answered >= 3  # the plain ones, the Unicode one


def test_every_pdf_of_the_hostile_corpus_reads_the_same_either_way(tmp_path):
    checked = answered = 0
    for case in all_cases():
        if case.kind != "build" or case.skip:
            continue
        root = tmp_path / case.id
        (root / "reports").mkdir(parents=True)
        case.make(root)
        for pdf in (root / "reports").rglob("*"):
            if not pdf.is_file() or pdf.is_symlink() or pdf.stat().st_size > 8 * 1024 * 1024:
                continue  # sparse giants are stopped by size before either reader
            answered += assert_same_or_left_to_pypdf(pdf.read_bytes())
            checked += 1
    assert checked >= 80 and answered >= 50, (checked, answered)


def _report(report_pdfs) -> bytes:
    return report_pdfs[1]


def _every_name(data: bytes, new: bytes) -> bytes:
    """Every `(summary.json)` string replaced by `new` (of the same length)."""
    return re.sub(rb"\(summary\.json\)", lambda _: new, data)


def _swap(data: bytes, old: bytes, new: bytes) -> bytes:
    """`old` replaced once by `new` of the same length, so every offset in the xref table stays right."""
    assert len(old) == len(new) and data.count(old) >= 1
    return data.replace(old, new, 1)


def test_an_incremental_update_is_left_to_pypdf(report_pdfs):
    from pypdf import PdfWriter

    writer = PdfWriter(io.BytesIO(_report(report_pdfs)), incremental=True)
    writer.add_metadata({"/Subject": "updated"})
    out = io.BytesIO()
    writer.write(out)
    quick, slow = both(out.getvalue())
    assert quick is None and not isinstance(slow, Exception)


def test_a_compressed_summary_is_read_quickly(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.embed_file(bytes=json.dumps(SUMMARY).encode(), basename="summary.json", compress=True)
    data = bytes(pdf.output())
    assert b"/FlateDecode" in data
    quick, slow = both(data)
    assert quick is not None and quick == slow and quick.summary == "TiKV panicked twice."


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: _swap(d, b"/Type /Catalog", b"/Type %Catalog"), id="comment-in-the-catalog"),
        pytest.param(lambda d: _every_name(d, b"(summary\\qson)"), id="unknown-escape-in-the-file-name"),
        pytest.param(lambda d: _every_name(d, b"(summary\\\njso)"), id="line-continuation-in-the-file-name"),
        pytest.param(lambda d: d.replace(b"startxref\n", b"startxref\n1", 1), id="xref-offset-off"),
        pytest.param(lambda d: _swap(d, b"/EmbeddedFiles", b"/EmbeddedFil#s"), id="bad-name-escape"),
        pytest.param(lambda d: _swap(d, b"/Names [(summary.json)", b"/Kids  [(summary.json)"), id="name-tree-with-kids"),
        pytest.param(lambda d: d + b"\n%%EOF\n" * 3, id="extra-end-markers"),
        pytest.param(lambda d: b"junk" + d, id="bytes-before-the-header"),
        pytest.param(lambda d: d[: len(d) // 2], id="cut-in-half"),
        pytest.param(lambda d: d.replace(b" obj", b" obi"), id="no-objects"),
        pytest.param(lambda d: _swap(d, b"trailer\n<<", b"trailer\n<["), id="broken-trailer"),
    ],
)
def test_shapes_the_quick_reader_leaves_to_pypdf(report_pdfs, change):
    data = change(_report(report_pdfs))
    quick, _slow = both(data)
    assert quick is None


def test_the_name_in_the_file_spec_counts_as_pypdf_counts_it(report_pdfs):
    """pypdf knows a file by its key in the name tree and by the spec's /UF (else /F): so does the quick reader."""
    data = _report(report_pdfs)
    key_renamed = data.replace(b"[(summary.json)", b"[(summary.jsom)", 1)  # the /UF and /F still say summary.json
    quick, slow = both(key_renamed)
    assert quick is not None and quick == slow
    nowhere = re.sub(rb"\(summary\.json\)", b"(summary.jsom)", data)
    quick, slow = both(nowhere)
    assert quick is None and slow.summary_source != "attachment"


def test_a_summary_over_the_size_limit_is_left_to_pypdf_which_says_why(tmp_path, make_pdf):
    from sitegen import limits

    big = {**SUMMARY, "padding": "x" * limits.SUMMARY_BYTES}
    data = make_pdf(tmp_path / "big.pdf", summary=big, subject="metadata instead").read_bytes()
    quick, slow = both(data)
    assert quick is None and any("larger than" in p for p in slow.problems)


def test_a_decompression_bomb_is_not_inflated_past_the_limit():
    from sitegen import limits

    bomb = zlib.compress(b"{" + b" " * (50 * limits.SUMMARY_BYTES) + b"}", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(summary.json) 3 0 R] >> >> >>",
        b"<< /Type /Pages /Count 0 /Kids [] >>",
        b"<< /Type /Filespec /F (summary.json) /EF << /F 4 0 R >> >>",
        b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb) + bomb + b"\nendstream",
    ]
    from tests.hostile.corpus import raw_pdf

    assert quickpdf.read(raw_pdf(objects)) is None


def test_a_hand_made_pdf_of_the_simple_shape_is_read_field_by_field():
    from tests.hostile.corpus import raw_pdf

    payload = json.dumps(SUMMARY).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names 5 0 R /OpenAction [3 0 R /FitH null] >>",
        b"<< /Type /Pages /Count 3 /Kids [6 0 R 6 0 R 6 0 R] /MediaBox [0 0 595.28 841.89] /Rotate -0 >>",
        b"<< /Type /Filespec /F (summary.json) /UF (summary.json) /Desc (a \\(nested\\) (note)) /EF << /F 4 0 R >> >>",
        b"<< /Type /EmbeddedFile /Subtype /application#2Fjson /Length %d >>\nstream\r\n" % len(payload) + payload + b"\r\nendstream",
        b"<< /EmbeddedFiles << /Names [(summary.json) 3 0 R] >> >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    data = raw_pdf(objects, b"/ID [<0123456789ABCDEF> <fedcba98 76543210>]")
    found = quickpdf.read(data)
    assert found == quickpdf.Quick(pages=3, summary=payload)
    quick, slow = both(data)
    assert quick == slow


# --- where pypdf departs from the specification, the quick reader gives up (found by a review of this reader) -----

_A = json.dumps(SUMMARY).encode()
_B = json.dumps({**SUMMARY, "headline": "Something else entirely."}).encode()
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(summary.json) 3 0 R] >> >> >>"
_PAGES = b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>"
_SPEC = b"<< /Type /Filespec /F (summary.json) /EF << /F 4 0 R >> >>"
_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"


def _stream(payload: bytes, head: bytes = b"/Type /EmbeddedFile") -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (head, len(payload)) + payload + b"\nendstream"


def _hand_made(catalog=_CATALOG, pages=_PAGES, spec=_SPEC, file=None, more=()) -> bytes:
    from tests.hostile.corpus import raw_pdf

    return raw_pdf([catalog, pages, spec, file or _stream(_A), _PAGE, *more])


def _listed_twice() -> bytes:
    """Object 4 in two subsections of the table: pypdf keeps the first entry."""
    data = _hand_made()
    at = data.index(b"\nxref\n") + 1
    other = b"4 0 obj\n" + _stream(_B) + b"\nendobj\n"
    data = data[:at] + other + data[at:]
    data = re.sub(rb"startxref\n\d+", b"startxref\n%d" % (at + len(other)), data)
    return data.replace(b"trailer\n", b"4 1\n%010d 00000 n \ntrailer\n" % at)


def _table_from_one() -> bytes:
    """A table whose first subsection starts at 1, its last entry at another `6 0 obj`: pypdf renumbers."""
    objects = [_CATALOG, b"<< /Type /Pages /Count 6 0 R /Kids [5 0 R] >>", _SPEC, _stream(_A), _PAGE, b"1"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets.append(len(out))
    out += b"6 0 obj\n7\nendobj\n"
    xref = len(out)
    out += b"xref\n1 %d\n" % len(offsets) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda r: _swap(r, b"/AF [", b"/AF\x0b["), id="vertical-tab-after-a-key"),
        pytest.param(lambda r: _swap(r, b"/Pages 1 0 R", b"/Pages 1\x000 R"), id="nul-inside-a-reference"),
        pytest.param(lambda r: _swap(r, b"/Count 3\n", b"/Count\x003\n"), id="nul-ending-a-key"),
        pytest.param(lambda r: _swap(r, b"0000000015 00000 n \n", b"0000000015 00000 n 1"), id="a-bad-xref-entry-never-followed"),
        pytest.param(lambda r: _hand_made(pages=b"<< /Type /Pages /Count 00000000000000000006 0 R /Kids [5 0 R] >>", more=[b"1"]),
                     id="reference-longer-than-pypdfs-look-ahead"),
        pytest.param(lambda r: _hand_made(spec=b"<< /Type /Filespec /F (summary.json) /EF << /F 4" + b" " * 20 + b"0 R >> >>"),
                     id="reference-with-20-blanks"),
        pytest.param(lambda r: _hand_made(spec=_SPEC.replace(b"/EF << /F 4", b"/EF << /F\x00 4")), id="nul-in-the-ef-key"),
        pytest.param(lambda r: _hand_made(catalog=_CATALOG.replace(b"(summary.json)", rb"(summary.jso\556)"),
                                          spec=_SPEC.replace(b"(summary.json)", b"(x)")), id="octal-escape-over-255"),
        pytest.param(lambda r: _hand_made(file=_stream(_A, b"/Filter null")), id="filter-null"),
        pytest.param(lambda r: _hand_made(catalog=_CATALOG.replace(b"/Type /Catalog ", b""), more=[
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(summary.json) 7 0 R] >> >> >>",
            b"<< /F (summary.json) /EF << /F 8 0 R >> >>", _stream(_B)]), id="root-not-a-catalog"),
        pytest.param(lambda r: _listed_twice(), id="object-listed-twice"),
        pytest.param(lambda r: _table_from_one(), id="table-from-object-one"),
        pytest.param(lambda r: r.replace(b"startxref\n", b"startxref\n99999999999999999999", 1), id="offset-past-any-file"),
    ],
)
def test_where_pypdf_reads_otherwise_the_quick_reader_gives_up(report_pdfs, make):
    data = make(_report(report_pdfs))
    assert quickpdf.read(data) is None


def test_a_huge_xref_table_is_checked_without_a_python_loop_per_entry():
    """120 MB of table: the regex engine checks it; no list of entries is ever built (bounded memory)."""
    import tracemalloc

    data = _hand_made()
    at = data.index(b"xref\n0 ")
    count = 6_000_000
    table = b"xref\n0 %d\n" % count + b"0000000000 65535 f \n" * count
    data = data[:at] + table + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, at)
    tracemalloc.start()
    assert quickpdf.read(data) is None  # the entries for objects 1-5 are free ones here
    assert tracemalloc.get_traced_memory()[1] < 10 * 1024 * 1024
    tracemalloc.stop()
