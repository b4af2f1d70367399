"""Range header parsing: the cases pdf.js and curl send, and the ones to ignore or refuse."""

from __future__ import annotations

import pytest

from sitegen.serve.ranges import Unsatisfiable, parse_range


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-99", (0, 99)),
        ("bytes=900-5000", (900, 999)),  # clipped to the end of the file
        ("bytes=990-", (990, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=5-2", None),  # invalid: ignored, whole file
        ("bytes=0-1,5-6", None),  # multi-range: whole file (allowed by the RFC)
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1001", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(Unsatisfiable):
        parse_range(header, 1000)
