"""What the site builder reads from a PDF and a request: summary.json, JSON limits, Range headers."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from sitegen import limits
from sitegen.model import Summary
from sitegen.serve.ranges import Unsatisfiable, parse_range
from tests.fuzz import documents, fuzz

SUMMARY_KEYS = ["schema", "date", "status", "suite", "title", "headline", "metrics", "signatures", "errors", "key", "count", "level"]


@fuzz
@given(
    st.one_of(
        documents(SUMMARY_KEYS).map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=200),
        st.integers(1, 300).map(lambda n: b"[" * n + b"]" * n),
    )
)
def test_a_summary_attachment_is_a_summary_or_a_value_error(payload):
    try:
        summary = Summary.from_json_bytes(payload)
    except ValueError as exc:
        assert str(exc).startswith("summary.json")
        return
    json.dumps(summary.to_json_obj(), allow_nan=False)  # what reports.json will need to hold


@fuzz
@given(st.one_of(st.text(max_size=100), st.integers(1, 100_000).map(lambda n: "[" * n + "]" * n)))
def test_bounded_json_raises_only_value_errors(text):
    with contextlib.suppress(ValueError):
        limits.loads_json(text)


@fuzz
@given(
    st.one_of(
        st.none(),
        st.text(max_size=40),
        st.builds(lambda a, b: f"bytes={a}-{b}", st.text("0123456789", max_size=30), st.text("0123456789 ", max_size=30)),
    ),
    st.integers(0, 10**12),
)
def test_a_range_header_is_a_span_none_or_416(header, size):
    try:
        span = parse_range(header, size)
    except Unsatisfiable:
        return
    if span is not None:
        first, last = span
        assert 0 <= first <= last < size


def _simple_pdf() -> bytes:
    from tests.hostile.corpus import raw_pdf

    payload = json.dumps({"schema": 1, "date": "2021-07-09", "status": "bad", "title": "t", "headline": "h"}).encode()
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(summary.json) 3 0 R] >> >> >>",
        b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>",
        b"<< /Type /Filespec /F (summary.json) /UF (summary\\056json) /EF << /F 4 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


SIMPLE_PDF = _simple_pdf()
# What a PDF is made of, and the bytes where readers part: NUL and vertical tab, long runs of digits or blanks.
PDF_PIECES = st.sampled_from(
    [bytes([c]) for c in b"()<>[]/\\%#\r\n\t\x0c\x00\x0b 0123456789R+-.nobjstreamendTypeLength"]
    + [b"null", b"obj", b"endobj", b"true", b" " * 25, b"0" * 25]
)


@fuzz
@given(
    st.lists(
        st.tuples(st.integers(0, len(SIMPLE_PDF) - 1), st.integers(0, 3), st.binary(max_size=3) | PDF_PIECES),
        max_size=4,
    )
)
def test_the_quick_pdf_reader_declines_or_agrees_with_pypdf(edits):
    """Bytes changed, cut or inserted anywhere in a PDF of the simple shape: never an exception, never another answer."""
    from sitegen.site import extract

    data = bytearray(SIMPLE_PDF)
    for at, cut, insert in edits:
        data[at : at + cut] = insert
    data = bytes(data)
    quick = extract._read_quickly(data, 300)
    if quick is None:
        return
    with extract._quiet_pypdf():
        assert extract._extract_pdf(data, 300) == quick
