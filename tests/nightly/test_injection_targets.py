"""Each injection names what it hit, as far as the chaos source says: pods from records and events, else the selector."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sitegen.config import parse_config
from sitegen.nightly.chaos import load_chaos
from sitegen.nightly.fonts import fonts_from_config
from sitegen.nightly.pdf import PdfContext, render_pdf
from sitegen.nightly.summary import build_summary, encode_summary
from tests.conftest import ROOT
from tests.nightly.pixels import pdf_text
from tests.nightly.report_records import SINCE, UNTIL, UTC, night_report

WIDE = {"since": dt.datetime(2021, 1, 1, tzinfo=dt.UTC), "until": dt.datetime(2027, 1, 1, tzinfo=dt.UTC)}
STATUS = ROOT / "tests/data/samples/05_chaos_mesh_yaml_and_events/status"


def test_a_schedule_names_its_action_and_selector():
    windows = load_chaos(ROOT / "examples/night-2021-07-09/schedule.yaml", since=SINCE, until=UNTIL)
    assert {(w.action, w.target) for w in windows} == {("pod-failure", "one pod of app.kubernetes.io/component=tikv in tidb-cluster")}


def test_records_and_events_name_the_pods():
    [record] = load_chaos(next(STATUS.glob("v2.8.1_PodChaos_spawned_by_Schedule*.yaml")), **WIDE)
    assert (record.action, record.target) == ("pod-kill", "dockerimagesloaded/resume-app-55cc46dc8f-vkwc4")
    events = load_chaos(ROOT / "tests/data/chaos/events_chaos.json", **WIDE)
    assert events[0].target == "tidb-cluster/basic-tikv-0, tidb-cluster/basic-tikv-1"


def test_the_injections_table_names_each_target(tmp_path: Path):
    report, _ = night_report(with_logs=False)
    for i, inj in enumerate(report.injections):
        inj.window.action, inj.window.target = "pod-kill", f"tidb-cluster/basic-tikv-{i % 3}"
    fonts = fonts_from_config(parse_config({}, tmp_path).report)
    ctx = PdfContext(status_label="Bad", status_color="#cf222e", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL)
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report, ctx, fonts, encode_summary(build_summary(report))))
    text = pdf_text(path)
    assert text.count("pod-kill on") == text.count("tidb-cluster/basic-tikv-") == len(report.injections)
    assert "tidb-cluster/basic-tikv-2" in text
