"""A `sitegen report` killed with SIGKILL while it writes leaves no partial PDF in the reports folder.

The kill is aimed: the test watches the reports folder and kills the moment the temp file appears,
that is between the first byte written and the rename. A later run removes what the dead one left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import ROOT
from tests.nightly.test_report import night  # noqa: F401 - the fixture of a night's inputs

pytestmark = pytest.mark.slow

ROUNDS = 6


def report_cmd(n: dict[str, Path]) -> list[str]:
    return [
        sys.executable, "-m", "sitegen", "report", "--night", "2021-07-09",
        "--logs", str(n["logs"]), "--metrics", str(n["metrics"]), "--chaos", str(n["chaos"]), "--reports", str(n["reports"]),
    ]  # fmt: skip


def complete(pdf: Path) -> bool:
    """The file opens as a PDF and carries its summary.json: what the site needs from it."""
    try:
        reader = PdfReader(str(pdf))
        json.loads(reader.attachments["summary.json"][0])
        return len(reader.pages) > 0
    except Exception:  # any failure to read is a partial file
        return False


def test_a_report_killed_mid_write_leaves_no_partial_pdf(night):  # noqa: F811 - the fixture
    reports: Path = night["reports"]
    reports.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    caught = 0
    for _ in range(ROUNDS):
        for old in reports.glob("*.pdf"):  # the temp files of killed runs stay, for the check below
            old.unlink()
        proc = subprocess.Popen(report_cmd(night), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            if any(name.endswith(".tmp") for name in os.listdir(reports)):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                caught += 1
                break
        names = os.listdir(reports)
        pdfs = [n for n in names if n.endswith(".pdf")]
        for name in pdfs:
            assert complete(reports / name), f"{name} is a partial PDF"
        if proc.returncode == -signal.SIGKILL:
            assert pdfs == [], f"a report appeared although the run was killed before its rename: {pdfs}"
        else:
            assert proc.returncode == 0 and pdfs == ["report-2021-07-09-bad.pdf"]
    assert caught > 0, "no run was caught mid-write; the test proved nothing"

    # What the dead run left is not a report (the site ignores it), and the next run clears it once stale.
    leftovers = [p for p in reports.iterdir() if p.name.endswith(".tmp")]
    assert leftovers
    stale = time.time() - 3600
    for p in leftovers:
        os.utime(p, (stale, stale))
    done = subprocess.run(report_cmd(night), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(reports)) == ["report-2021-07-09-bad.pdf"]
    assert complete(reports / "report-2021-07-09-bad.pdf")
