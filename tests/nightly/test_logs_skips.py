"""The fast reader's line classifier: every engine picks exactly the lines that are not skippable heads."""

from __future__ import annotations

import random
import re

import pytest

from sitegen.nightly.logs import skips
from sitegen.nightly.logs.formats import KLOG, LEVELS, QUIET_UNIFIED_LEVELS, UNIFIED

HEAD = b'[2021/07/08 06:30:00.010 +08:00] [INFO] [tso.go:207] ["sync"]'


def _near_misses(rng: random.Random) -> list[bytes]:
    """Unified heads cut short, or with one byte changed, at every position of the skipped prefix."""
    out = [HEAD, HEAD.replace(b"INFO", b"DEBUG"), HEAD.replace(b"INFO", b"TRACE"), b"", b"\t at frame", b"goroutine 1 [running]:"]
    for i in range(len(HEAD)):
        out.append(HEAD[:i])
        for ch in (b"[", b"]", b" ", b"0", b"/", b"x", b"\t", b"I", b"E", b"-"):
            out.append(HEAD[:i] + ch + HEAD[i + 1 :])
    rng.shuffle(out)
    return out


def _found(skip: skips.Skip, lines: list[bytes]) -> list[bytes]:
    buf = b"\n" + b"\n".join(lines) + b"\n"
    return [buf[a:b] for a, b in skip.odd(buf, len(buf)) if a < len(buf)]


def test_each_skipped_line_is_an_uncounted_unified_head_and_every_other_line_is_found() -> None:
    lines = _near_misses(random.Random(1))
    found = set(_found(skips.make_skip(skips.UNIFIED_SKIP, "unified", use_re2=False), lines))
    for line in lines:
        text = line.decode()
        m = UNIFIED.match(text)
        if line not in found:  # skipped: the parser reads it as an info/debug unified head
            assert m is not None and m.group(2) in ("INFO", "DEBUG", "TRACE"), line
    assert HEAD not in found and b"goroutine 1 [running]:" in found and HEAD[:39] in found
    odd = [HEAD.replace(b"INFO", b"WARN"), HEAD.replace(b"] [INFO]", b"]  [INFO]"), HEAD[1:]]
    assert _found(skips.UNIFIED, [HEAD, *odd, HEAD]) == odd


def test_the_spelled_out_complement_finds_the_same_lines_as_the_lookahead() -> None:
    lines = _near_misses(random.Random(2))
    lookahead = skips.make_skip(skips.UNIFIED_SKIP, "unified", use_re2=False)
    complement = re.compile(skips.complement(skips.UNIFIED_SKIP).encode())
    spelled = skips.Skip(lookahead.at_start, complement, None, "unified")
    assert _found(spelled, lines) == _found(lookahead, lines)


@pytest.mark.skipif(skips._re2 is None, reason="google-re2 is not installed")
def test_re2_finds_the_same_lines_as_re() -> None:
    lines = _near_misses(random.Random(3)) * 3
    assert skips.UNIFIED.engine == "re2"
    assert _found(skips.UNIFIED, lines) == _found(skips.make_skip(skips.UNIFIED_SKIP, "unified", use_re2=False), lines)


def test_heads_of_variable_width_have_no_complement_and_use_re() -> None:
    assert skips.complement(skips.KLOG_SKIP) is None and skips.complement(skips.KUBECTL_SKIP) is None
    assert skips.KLOG.engine == skips.KUBECTL.engine == "re"
    # The klog skip pattern is the parser's own klog head, at the INFO level only.
    line = "I0708 06:30:00.000001       1 a.go:1] hello"
    assert skips.KLOG.at_start.match(line.encode()) and KLOG.match(line).group(1) == "I"


def test_the_skipped_level_words_are_uncounted_levels() -> None:
    assert all(LEVELS[word.lower()] in ("info", "debug") for word in QUIET_UNIFIED_LEVELS)
    assert LEVELS["i"] == "info"  # the klog skip pattern's level letter
