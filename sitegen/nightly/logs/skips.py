"""The fast reader's line classifier: which lines of a block are record heads it may count without parsing.

Every pattern here is built from the constants the parsers in `formats` are built from, narrowed so that a
line it skips is certainly a head of an uncounted level (info/debug) that `parse_line` would read the same way.
Each `Skip` finds the *other* lines of a block, the ones that must be parsed. With `re` that is a newline not
followed by a skipped head (one negative lookahead per line). RE2 has no lookahead, so for heads of a fixed
width (the unified head) it gets the complement spelled out instead: at each position of the head, a line
that leaves it there. RE2 runs that as one DFA pass over the block, faster than `re`'s lookahead per line
(bench/RESULTS.md, "Log throughput"). When `re2` (the `google-re2` package) cannot be imported, or declines
a pattern, `re` does the same job with the same result; heads of variable width (kubectl, klog) always use `re`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from sitegen.nightly.logs.formats import KLOG_REST, QUIET_UNIFIED_LEVELS, RFC3339_STAMP, UNIFIED_STAMP

log = logging.getLogger(__name__)

try:  # an optional speed-up: the results are the same without it
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on what is installed
    _re2 = None

# A unified head of an uncounted level: "[" stamp "] [INFO] ". `formats.UNIFIED` accepts more (no "[", several
# spaces, any level word, a line ending after the level); those lines are parsed, which is always exact.
_LEVEL_WORDS = "|".join(QUIET_UNIFIED_LEVELS)
UNIFIED_SKIP = rf"\[{UNIFIED_STAMP}\] \[(?:{_LEVEL_WORDS})\] "
# The same behind a `kubectl logs --timestamps` stamp (`formats` peels that prefix off and reads the rest).
KUBECTL_SKIP = rf"{RFC3339_STAMP} {UNIFIED_SKIP}"
# A klog INFO head; `KLOG_REST` keeps to one line (no `\s`), so it is safe on a block of many lines.
KLOG_SKIP = rf"I{KLOG_REST} "


def _uncaptured(pattern: str) -> str:
    """The pattern with its capture groups made non-capturing (they only cost time in a lookahead)."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


# --- the RE2 complement ---------------------------------------------------------------------------------

_ATOM = re.compile(r"\\d|\\.|\[(?:\\.|[^\]\\])+\]|[^\\\[(){}|?*+]")
_COUNT = re.compile(r"\{(\d+)\}")
_ALTERNATION = re.compile(r"\(\?:((?:[A-Z]+\|)*[A-Z]+)\)")


def fixed_width(pattern: str) -> list[str | tuple[str, ...]] | None:
    """A pattern of single-character atoms with `{n}` counts and upper-case word alternations, as one item per
    position (a character class) or a tuple of words; None for anything else (RE2 then is not used for it)."""
    items: list[str | tuple[str, ...]] = []
    pos = 0
    while pos < len(pattern):
        if m := _ALTERNATION.match(pattern, pos):
            items.append(tuple(m.group(1).split("|")))
            pos = m.end()
            continue
        m = _ATOM.match(pattern, pos)
        if m is None:
            return None
        atom = m.group()
        pos = m.end()
        n = 1
        if c := _COUNT.match(pattern, pos):
            n, pos = int(c.group(1)), c.end()
        cls = "0-9" if atom == r"\d" else atom[1:-1] if atom.startswith("[") else _in_class(atom[-1])
        items.extend([cls] * n)
    return items


def _in_class(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def _words_left(words: tuple[str, ...], after: str) -> str:
    """Where a line leaves a set of words that `after` follows: a trie, one branch per next letter."""
    firsts: dict[str, list[str]] = {}
    for w in words:
        firsts.setdefault(w[:1], []).append(w[1:])
    if "" in firsts:  # a word ends here: what follows must be `after`
        if len(firsts) > 1:
            raise ValueError("one word is a prefix of another")
        return after
    alts = ["$", "[^\\n" + "".join(_in_class(ch) for ch in firsts) + "]"]
    alts.extend(f"[{_in_class(ch)}]" + _words_left(tuple(rests), after) for ch, rests in firsts.items())
    return "(?:" + "|".join(alts) + ")"


def complement(pattern: str) -> str | None:
    """A pattern matching a newline plus the rest of a line that does *not* start with `pattern`; None when
    `pattern` is not of fixed width (`fixed_width`)."""
    items = fixed_width(pattern)
    if not items:
        return None
    tail = ""
    try:
        for item in reversed(items):
            if isinstance(item, tuple):
                tail = _words_left(item, tail)
            else:  # "\\n" first in the class: a class ending in "-" must keep it last
                tail = f"(?:$|[^\\n{item}]|[{item}]{tail})" if tail else f"(?:$|[^\\n{item}])"
    except ValueError:
        return None
    return rf"(?m)\n{tail}[^\n]*"


# --- the classifier -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Skip:
    """One kind of skipped head: `at_start` checks a block's first line, `odd` yields the (start, end) of every
    other line that must be parsed, each after its newline (the first line of a block is the caller's)."""

    at_start: re.Pattern[bytes]
    odd_re: re.Pattern[bytes]
    odd_re2: Callable[[bytes | bytearray, int, int], tuple[int, int]] | None
    fmt: str

    def odd(self, buf: bytes | bytearray, end: int) -> Iterator[tuple[int, int]]:
        pos = 0
        while (found := self.next_odd(buf, pos, end)) is not None:
            yield found
            pos = found[1]

    def next_odd(self, buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int] | None:
        """The (start, end) of the first line to parse after the newline at or after `pos`; None when none is left."""
        search = self.odd_re2
        if search is None:
            m = self.odd_re.search(buf, pos, end)
            return None if m is None else (m.start() + 1, m.end())
        start, stop = search(buf, pos, end)
        return None if start < 0 else (start + 1, stop)

    @property
    def engine(self) -> str:
        return "re2" if self.odd_re2 is not None else "re"


def _compile_re2(pattern: str | None) -> Callable[[bytes | bytearray, int, int], tuple[int, int]] | None:
    """A search function (buffer, pos, end) -> span of the first match, or (-1, -1); None without RE2."""
    if _re2 is None or pattern is None:
        return None
    try:
        options = _re2.Options()
        options.max_mem = 64 << 20  # the DFA of the unified complement needs far less; a cap keeps memory flat
        compiled = _re2.compile(pattern.encode(), options)
    except Exception as exc:  # an engine that cannot take the pattern: `re` reads the same lines
        log.debug("re2 declined %s: %s", pattern, exc)
        return None

    def search_matches(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int]:
        m = compiled.search(buf, pos, end)
        return m.span() if m is not None else (-1, -1)

    # The module's own `finditer` builds a match object per line found; its engine call alone is a third
    # cheaper. It is not public API, so it is used only when it answers as expected.
    try:
        match, anchor = compiled._regexp.Match, _re2._Anchor.UNANCHORED
        probe = bytearray(b"x\nno head\n[\n")
        if all(match(anchor, probe, i, len(probe))[0] == search_matches(probe, i, len(probe)) for i in range(len(probe))):
            return lambda buf, pos, end: match(anchor, buf, pos, end)[0]
    except Exception:  # another google-re2 version: the public API gives the same spans
        pass
    return search_matches


def make_skip(pattern: str, fmt: str, *, use_re2: bool = True) -> Skip:
    """The classifier for heads matching `pattern` (a str regex over one line, built from `formats`)."""
    bare = _uncaptured(pattern)
    return Skip(
        at_start=re.compile(bare.encode()),
        odd_re=re.compile(rb"\n(?!" + bare.encode() + rb")[^\n]*"),
        odd_re2=_compile_re2(complement(bare)) if use_re2 else None,
        fmt=fmt,
    )


UNIFIED = make_skip(UNIFIED_SKIP, "unified")
KUBECTL = make_skip(KUBECTL_SKIP, "unified")
KLOG = make_skip(KLOG_SKIP, "klog")
KUBECTL_START = re.compile(_uncaptured(RFC3339_STAMP).encode())
KLOG_START = re.compile(rb"[IWEF]\d{4} \d\d:")  # only picks the block's kind: any choice is exact
YEAR = re.compile(rb"(?:^|\n)\[(\d{4})/")


def use_re2(on: bool) -> None:
    """Classify with RE2 (when installed) or with `re` only: for the benchmark and the tests; same results."""
    global UNIFIED, KUBECTL, KLOG
    UNIFIED = make_skip(UNIFIED_SKIP, "unified", use_re2=on)
    KUBECTL = make_skip(KUBECTL_SKIP, "unified", use_re2=on)
    KLOG = make_skip(KLOG_SKIP, "klog", use_re2=on)
    unified_in_year.cache_clear()


@lru_cache(maxsize=8)
def unified_in_year(year: bytes) -> Skip:
    """`UNIFIED` with the block's year written out, for `re` (about 10 % cheaper; heads of another year are
    simply parsed). RE2 does not gain from it, so with RE2 this is `UNIFIED`."""
    if UNIFIED.odd_re2 is not None:
        return UNIFIED
    return make_skip(UNIFIED_SKIP.replace(r"\d{4}", re.escape(year.decode("ascii")), 1), "unified", use_re2=False)


def engine() -> str:
    """Which engine classifies unified lines: "re2" or "re"."""
    return UNIFIED.engine
