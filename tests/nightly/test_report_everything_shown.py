"""Through the real CLI: every signature of a night is in the PDF, a panic is on page 1, and no path of this machine is.

One night is written once (module fixture) and read with pypdf: 36 signatures, a panic among 30 noisier error
signatures, `report.top_signatures: 5`, inputs given by absolute paths under the system temp folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.cli import main

T0 = dt.datetime(2021, 7, 8, 6, 0, tzinfo=dt.UTC)  # start of night 2021-07-09


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S.000 +00:00")


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("night-2021-07-09-")
    logs = root / "logs"
    for pod in ("tidb-0", "tikv-1", "pd-0"):
        (logs / pod).mkdir(parents=True)
    tidb, tikv, pd = [], [], []
    for i in range(30):  # 30 error signatures, each far noisier than the one panic
        for k in range(20):
            t = T0 + dt.timedelta(hours=1, minutes=i, seconds=k)
            tikv.append(f'[{_stamp(t)}] [ERROR] [store.rs:1] ["存储 写入失败 分类{chr(0x4E00 + i)}"] [region_id={k}]')
    for i in range(5):
        t = T0 + dt.timedelta(hours=3, minutes=i)
        pd.append(f'[{_stamp(t)}] [WARN] [cluster.go:1] ["store heartbeat slow kind-{chr(ord("a") + i)}"]')
    panic_at = T0 + dt.timedelta(hours=12)
    tidb.append(f'[{_stamp(panic_at)}] [ERROR] [conn.go:726] ["connection running loop panic"] [conn=7] '
                '[err="runtime error: index out of range [3] with length 3"] '
                '[stack="goroutine 1093 [running]:\\ngithub.com/pingcap/tidb/server.(*clientConn).Run.func1()"]')
    for path, lines in ((logs / "tidb-0" / "tidb.log", tidb), (logs / "tikv-1" / "tikv.log", tikv), (logs / "pd-0" / "pd.log", pd)):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    metrics = root / "qps.csv"
    rows = ["timestamp,qps"]
    for s in range(0, 4 * 3600, 10):
        t = T0.timestamp() + 10 * 3600 + s
        rows.append(f"{int(t)},{300.0 if 3600 <= s < 3660 else 1000.0}")
    metrics.write_text("\n".join(rows) + "\n")
    chaos = root / "chaos.csv"
    start = T0 + dt.timedelta(hours=11)
    chaos.write_text(f"start,end\n{start.isoformat()},{(start + dt.timedelta(minutes=1)).isoformat()}\n")
    config = root / "sitegen.yml"
    config.write_text("report:\n  top_signatures: 5\n")
    reports = root / "reports"
    # Absolute paths for everything, and one log file given by itself as well as through its folder.
    code = main(["report", "--night", "2021-07-09", "--config", str(config), "--reports", str(reports),
                 "--logs", str(logs / "tidb-0"), str(logs / "tikv-1" / "tikv.log"), str(logs / "pd-0" / "pd.log"),
                 "--metrics", str(metrics), "--chaos", str(chaos)])
    assert code == 0
    [pdf] = list(reports.glob("report-*.pdf"))
    reader = PdfReader(str(pdf))
    pages = [page.extract_text() for page in reader.pages]
    return {"root": root, "pdf": pdf, "reader": reader, "pages": pages,
            "summary": json.loads(reader.attachments["summary.json"][0])}


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_signature_of_the_night_is_in_the_pdf(night):
    sigs = night["summary"]["signatures"]
    assert len(sigs) == 36
    text = _flat(" ".join(night["pages"]))
    assert "Other signatures" in text  # the 31 beyond the top 5 are in the one-line table
    for sig in sigs:
        assert sig["key"] in text, sig
        assert _flat(sig["message"])[:25] in text, sig


def test_the_panic_is_ranked_first_and_is_on_page_one(night):
    first = night["summary"]["signatures"][0]
    assert (first["kind"], first["level"], first["count"], first["component"]) == ("panic", "error", 1, "tidb-0")
    page1 = _flat(night["pages"][0])
    assert "connection running loop panic" in page1
    assert night["summary"]["headline"].startswith("Panic in tidb-0: connection running loop panic")


def test_no_path_of_the_generating_machine_is_in_the_pdf(night):
    root = night["root"]
    reader = night["reader"]
    everything = "\n".join(night["pages"]) + json.dumps(night["summary"], ensure_ascii=False)
    everything += " ".join(str(v) for v in (reader.metadata or {}).values())
    for forbidden in {str(root), str(root.resolve()), tempfile.gettempdir() + os.sep, str(Path.home()) + os.sep}:
        assert forbidden not in everything, forbidden
    # What is shown instead: names relative to the night's inputs, and pod/container names.
    text = _flat(" ".join(night["pages"]))
    assert "Metrics: qps.csv" in text and "Chaos: chaos.csv" in text
    assert "tidb-0/tidb.log" in text and "tikv-1/tikv.log" in text
