"""Issue #11, class 4: a chaos schedule of `@every 1s` all night gives a report, drawn within its limits.

It used to take about 30 s and exit 70 (FPDFSvgLimitExceeded); `@every 5s` took about 400 s, drawing every
window on the chart and every injection in the table. Now the chart merges close windows into at most
CHART_BANDS bands and the table lists REPORT_INJECTION_ROWS rows, and the PDF says what it left out.
The bound is the subprocess timeout, not a timed assertion.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from sitegen import limits

ROOT = Path(__file__).resolve().parents[2]
SINCE = dt.datetime(2021, 7, 8, 6, 0, tzinfo=dt.UTC)  # night 2021-07-09 ends at 06:00 UTC
TIMEOUT_S = 60


def _inputs(folder: Path) -> tuple[Path, Path]:
    """24 h of QPS at 1 s, dipping for 40 s at 03:00, and a pod-kill every second all night."""
    qps = folder / "qps.csv"
    dip = int((SINCE + dt.timedelta(hours=21)).timestamp())
    start = int(SINCE.timestamp())
    rows = ["timestamp,qps"]
    for t in range(start, start + 86_400):
        rows.append(f"{t},{500.0 if dip <= t < dip + 40 else 20_000.0 + (t % 7) * 10}")
    qps.write_text("\n".join(rows) + "\n")
    chaos = folder / "chaos.yaml"
    chaos.write_text(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: Schedule\n"
        "metadata: {name: kill-every-second, creationTimestamp: '2021-07-01T00:00:00Z'}\n"
        "spec: {schedule: '@every 1s', type: PodChaos, concurrencyPolicy: Forbid,\n"
        "       podChaos: {action: pod-kill, duration: '1s'}}\n"
    )
    return qps, chaos


def test_a_night_of_chaos_every_second_gives_a_bounded_report_that_says_what_it_left_out(tmp_path):
    qps, chaos = _inputs(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "sitegen", "report", "--night", "2021-07-09", "--metrics", str(qps), "--chaos", str(chaos),
         "--reports", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    pdf = Path(done.stdout.splitlines()[-1])
    reader = PdfReader(str(pdf))
    summary = json.loads(reader.attachments["summary.json"][0])
    total = summary["metrics"]["injections"]
    assert total > 86_000  # every window of the night was measured, none refused
    assert summary["metrics"]["max_drop_pct"] > 95  # the dip at 03:00 is found among them
    assert len(summary["injections"]) == limits.SUMMARY_INJECTIONS  # the site reads at most 1 MB of it
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert f"The table lists {limits.REPORT_INJECTION_ROWS} of the {total:,} injections" in text
    assert f"… and {total - limits.REPORT_INJECTION_ROWS:,} more injections." in text
    assert f"The {total:,} chaos windows are drawn as " in text and "share one band" in text
    dots = re.search(rf"Recovery dots are drawn for {limits.CHART_MARKERS} of the ([\d,]+) measured injections", text)
    assert dots is not None
    unmeasured = total - int(dots.group(1).replace(",", ""))
    assert 0 <= unmeasured < 10  # only windows at the very start of the data have nothing before them
    if unmeasured:
        assert f"{unmeasured:,} of the {total:,} injections had no data before them to measure against" in text
    assert len(reader.pages) < 20
