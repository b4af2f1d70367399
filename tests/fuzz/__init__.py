"""Hypothesis fuzzing of every parser of untrusted input: nothing but the documented error type escapes.

`make test` runs a short version (QUICK examples per test); `make fuzz` sets SITEGEN_FUZZ=1 for
10,000 examples per test. Strategies mix raw text with the shapes each parser expects (known keys,
line fragments), so the examples reach past the first check.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = bool(os.environ.get("SITEGEN_FUZZ"))
QUICK = 25
EXAMPLES = int(os.environ.get("SITEGEN_FUZZ_EXAMPLES") or (10_000 if FUZZ else QUICK))  # the variable: for a quick look

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a file-system example can take tens of ms on a loaded machine
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
    derandomize=not FUZZ,  # the short run is the same every time; `make fuzz` explores
    database=None,
)

# Scalars as JSON and YAML decode them, including the awkward ones.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "x",
            "1s",
            "30s",
            "@every 1s",
            "* * * * *",
            "2021-07-09T01:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "1625800000",
            "NaN",
            "Infinity",
            "\ud800",
            "\x00",
            "<x-pwn>",
        ]
    ),
)


def documents(keys: list[str], max_leaves: int = 30) -> st.SearchStrategy:
    """Nested JSON-like data whose mapping keys are mostly the ones a parser looks for."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8)) if keys else st.text(max_size=8)
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(key, inner, max_size=6), max_leaves=max_leaves
    )


def lines(fragments: list[str], max_size: int = 12) -> st.SearchStrategy[str]:
    """Text made of known line fragments, random text and separators, in any order."""
    piece = st.one_of(st.sampled_from(fragments), st.text(max_size=20), st.sampled_from(["\n", "\r\n", ",", " ", "\t", "\x00"]))
    return st.lists(piece, max_size=max_size).map("".join)
