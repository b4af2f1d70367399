"""A golden summary.json for the example night: any change to what the report concludes shows up as a reviewable diff.

After an intended change, regenerate it with
    SITEGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/nightly/test_report_golden.py
and review the diff of tests/data/golden/summary-2021-07-09-tikv-failure.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.cli import main
from sitegen.model import Summary
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "night-2021-07-09"
GOLDEN = ROOT / "tests" / "data" / "golden" / "summary-2021-07-09-tikv-failure.json"


def test_the_example_night_gives_the_golden_summary(capsys, tmp_path):
    if not EXAMPLE.is_dir():
        pytest.fail(f"the example night is missing: {EXAMPLE} (python examples/make_night.py regenerates it)")
    code = main(
        [
            "report", "--night", "2021-07-09", "--suite", "tikv-failure",
            "--logs", str(EXAMPLE / "logs"), "--metrics", str(EXAMPLE / "sysbench.log"), "--chaos", str(EXAMPLE / "schedule.yaml"),
            "--reports", str(tmp_path / "reports"),
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    pdf = Path(out[-1])
    obj = json.loads(PdfReader(str(pdf)).attachments["summary.json"][0])
    Summary.from_json_obj(obj)
    if os.environ.get("SITEGEN_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    # Compare section by section so a failure names what changed.
    for key in ("date", "suite", "status", "title", "headline", "metrics", "rules_fired", "injections", "signatures", "notes"):
        assert obj.get(key) == expected.get(key), f"summary.json {key!r} differs from {GOLDEN.name}"
    assert obj == expected
    assert pdf.name == f"report-2021-07-09-{expected['status']}.pdf"
