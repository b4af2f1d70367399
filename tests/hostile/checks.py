"""What every hostile case must come out with, however it was run (forked child or its own process)."""

from __future__ import annotations

import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from tests.hostile.corpus import BASE_URL, Case

OUTPUT, CACHE = "public", ".sitegen-cache"
MAX_RSS_MB = 600  # peak resident memory of one case; a 2 GB PDF read whole would need gigabytes
MEMORY_LIMIT = 1024**3  # the address-space limit (`ulimit -v`, 1 GiB) each case runs under
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "srcdoc", "xlink:href", "content"}
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what could forge or colour a terminal line
_TEXT_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass
class Outcome:
    code: int
    seconds: float
    maxrss_mb: float
    output: str  # stdout + stderr


def argv(case: Case) -> list[str]:
    """The command line of a case, run in its folder."""
    if case.kind == "build":
        return ["build", "--reports", "reports", "--output", OUTPUT, "--base-url", BASE_URL, *case.args]
    if case.kind == "config":
        return ["build", "--reports", "reports", "--output", OUTPUT, *case.args]
    return ["report", "--night", "2021-07-09", "--reports", "reports", *case.args]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under `root` (symlinks not followed) with its type, size, mtime and link target."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else b""
            size = st.st_size if stat.S_ISREG(st.st_mode) else 0
            out[os.fsdecode(os.path.relpath(path, os.fsencode(root)))] = (stat.S_IFMT(st.st_mode), size, st.st_mtime_ns, target)
    return out


class _PageChecker(HTMLParser):
    """Collects what a payload would have created had it reached the page unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "x-pwn":
            self.found.append("<x-pwn> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"handler attribute {name}")
            if name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name}")
        self._script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if self._script and "pwn" in data:
            self.found.append("payload inside a <script>")


def check(case: Case, root: Path, outcome: Outcome, before: dict[str, tuple]) -> None:
    """Every promise of the corpus, for one case."""
    text = outcome.output
    assert "Traceback" not in text and "internal error" not in text, text[-3000:]
    assert outcome.code in case.exit, f"exit {outcome.code}, expected {case.exit}:\n{text[-3000:]}"
    assert not _TERMINAL_UNSAFE.search(text.replace("\n", "").replace("\t", "")), "a control character reached the terminal"
    if case.says:
        assert case.says in text, f"expected {case.says!r} in:\n{text[-3000:]}"
    assert outcome.seconds <= case.seconds, f"took {outcome.seconds:.1f} s (bound {case.seconds} s)"
    assert outcome.maxrss_mb <= MAX_RSS_MB, f"peak memory {outcome.maxrss_mb:.0f} MB (bound {MAX_RSS_MB} MB)"
    _nothing_written_outside(case, root, outcome, before)
    if case.kind == "build":
        _check_site(case, root / OUTPUT)
    if case.kind == "config":
        assert not (root / OUTPUT).exists(), "a refused config still wrote a site"


def _nothing_written_outside(case: Case, root: Path, outcome: Outcome, before: dict[str, tuple]) -> None:
    after = snapshot(root)
    allowed = (OUTPUT, CACHE) if case.kind in ("build", "config") else ()
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    changed = {p for p in changed if p.split("/", 1)[0] not in allowed}
    if case.kind == "report" and outcome.code == 0:
        changed.discard("reports")  # the folder's mtime: it gained the new report
        new = {p for p in changed if p.startswith("reports/")}
        assert len(new) == 1 and re.fullmatch(r"reports/report-2021-07-09-[a-z]+\.pdf", next(iter(new))), new
        changed -= new
    assert not changed, f"written outside the output: {sorted(changed)[:10]}"


def _check_site(case: Case, out: Path) -> None:
    catalog = (out / "reports.json").read_bytes()
    doc = json.loads(catalog)  # strict: a lone surrogate or NaN would not parse in a browser either
    entries = {e["source"]: e for e in doc["reports"]}
    missing = [s for s in case.valid if s not in entries]
    assert not missing, f"valid reports missing from the site: {missing}; site has {sorted(entries)}"
    pages = [e["page_url"] for e in entries.values()]
    pdfs = [e["pdf_url"] for e in entries.values() if e["pdf_url"]]
    assert len(set(map(str.casefold, pages))) == len(pages), "two reports share a viewer page"
    assert len(set(map(str.casefold, pdfs))) == len(pdfs), "two reports share a PDF"
    for source in case.valid:
        entry = entries[source]
        assert (out / entry["page_url"]).is_file(), f"no page for {source}"
        assert entry["pdf_url"] and (out / entry["pdf_url"]).is_file(), f"no PDF for {source}"
    _walk_strings(doc)
    for path in out.rglob("*"):
        rel = path.relative_to(out)
        assert all(len(part.encode()) <= 255 for part in rel.parts), rel
        assert not path.is_symlink(), f"the site holds a symlink: {rel}"
        if path.suffix == ".html":
            checker = _PageChecker()
            checker.feed(path.read_text(encoding="utf-8"))
            checker.close()
            assert not checker.found, f"{rel}: {checker.found}"
    feed = ET.fromstring((out / "feed.xml").read_bytes())  # well-formed, or this raises
    assert not [el for el in feed.iter() if el.tag.endswith("x-pwn")]
    for el in feed.iter():
        for value in [el.text or "", *el.attrib.values()]:
            assert not _TEXT_UNSAFE.search(value), f"feed.xml: {value!r}"


def _walk_strings(value: object) -> None:
    if isinstance(value, str):
        assert not _TEXT_UNSAFE.search(value), f"reports.json holds {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk_strings(k)
            _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            _walk_strings(v)
