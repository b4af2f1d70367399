"""Control characters in log lines are cleaned where the logs are read: summary.json and the PDF never carry them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from sitegen.nightly.logs.digest import iter_records
from tests.nightly.test_report import T0, run, summary_of

# Raw bytes a real log can hold: NUL, ANSI colour, a lone ESC, BEL; and the same as JSON escapes,
# which only turn into control characters once the line is parsed.
LOG = (
    b'[2021/07/08 09:00:00.000 +00:00] [ERROR] [main.go:1] ["disk \x00 full \x1b[31mred\x1b[0m \x1b lone \x07 bell"]'
    b' [error="io\x00error"]\n'
    b"\tcontinued \x00 stack\n"
    b'{"level":"error","ts":"2021-07-08T10:00:00Z","msg":"json \\u0000 nul \\u001b esc","error":"e\\u0007rr"}\n'
    b'[2021/07/08 11:00:00.000 +00:00] [WARN] [main.go:1] ["go \\"quoted\\" \\u0000 nul"]\n'
)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_records_carry_no_control_characters(tmp_path: Path) -> None:
    log = tmp_path / "tidb.log"
    log.write_bytes(LOG)
    records = list(iter_records([str(log)], tz=dt.UTC, night=dt.date(2021, 7, 9)))
    assert [r.level for r in records] == ["error", "error", "warn"]
    first, second, third = records
    assert first.message == "disk \ufffd full red  lone \ufffd bell"  # ANSI escapes dropped, the rest replaced
    assert first.fields == {"error": "io\ufffderror"}
    assert first.text.endswith("\n\tcontinued \ufffd stack")  # tabs and the record's newlines stay
    assert (second.message, second.fields) == ("json \ufffd nul \ufffd esc", {"error": "e\ufffdrr"})
    assert third.message == 'go "quoted" \ufffd nul'
    for r in records:
        for text in (r.message, r.text, *(r.fields or {}).values()):
            assert _UNSAFE.search(text.replace("\n", "").replace("\t", "")) is None, text


def test_a_log_line_with_nul_and_esc_is_cleaned_in_summary_json_and_the_pdf(capsys, tmp_path: Path) -> None:
    log = tmp_path / "tidb.log"
    log.write_bytes(LOG)
    code, out, _ = run(capsys, "--night", "2021-07-09", "--logs", log, "--reports", tmp_path / "reports")
    assert code == 0
    pdf = Path(out[-1])

    obj = summary_of(pdf)
    assert all(_UNSAFE.search(s) is None for s in strings(obj)), [s for s in strings(obj) if _UNSAFE.search(s)]
    patterns = [s["pattern"] for s in obj["signatures"]]
    assert any("disk \ufffd full" in p for p in patterns), patterns
    assert any("json \ufffd nul \ufffd esc" in p for p in patterns), patterns

    text = "".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    assert "disk" in text and "bell" in text
    assert _UNSAFE.search(text.replace("\n", "").replace("\t", "")) is None
    assert T0.date() == dt.date(2021, 7, 8)  # the entries above lie inside night 2021-07-09
