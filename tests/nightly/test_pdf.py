"""The PDF itself, from hand-made night records: what a reader sees, its metadata and its summary.json."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.config import parse_config
from sitegen.model import Summary
from sitegen.nightly.chart import ChartData, render_svg
from sitegen.nightly.fonts import fonts_from_config
from sitegen.nightly.pdf import PdfContext, render_pdf
from sitegen.nightly.summary import build_summary, encode_summary
from tests.nightly.pixels import page_rgb, pdf_text, share
from tests.nightly.report_records import CJK_MESSAGE, SINCE, UNTIL, UTC, night_report


@pytest.fixture(scope="module")
def fonts(tmp_path_factory):
    return fonts_from_config(parse_config({}, tmp_path_factory.mktemp("cfg")).report)


def _write(tmp_path: Path, fonts, *, with_logs=True, with_series=True, name="r.pdf") -> Path:
    report, windows = night_report(with_logs=with_logs, with_series=with_series)
    svg = None
    if report.series is not None:
        svg = render_svg(ChartData(series=report.series, windows=windows, injections=report.injections, tz=UTC))
    ctx = PdfContext(
        status_label="Needs a look" if report.verdict.status == "bad" else "Good",
        status_color="#cf222e" if report.verdict.status == "bad" else "#1a7f37",
        tz=UTC,
        since=SINCE,
        until=UNTIL,
        created=UNTIL,
        chart_svg=svg,
    )
    path = tmp_path / name
    path.write_bytes(render_pdf(report, ctx, fonts, encode_summary(build_summary(report))))
    return path


@pytest.fixture(scope="module")
def full_pdf(tmp_path_factory, fonts) -> Path:
    return _write(tmp_path_factory.mktemp("pdf"), fonts)


def test_page_one_states_the_status_and_the_rules_that_fired_with_their_values(full_pdf):
    page1 = " ".join(pdf_text(full_pdf).split("\f")[0].split())
    assert "BAD — Needs a look" in page1
    rules = ("fatal > 0: FIRED (2)", "errors > 100: FIRED (1,236)", "worst_ttr_s > 60: FIRED (360 s)",
             "max_drop_pct > 95: ok (93.5 %)")
    for rule in rules:
        assert rule in page1
    assert "Worst recovery" in page1 and "FIRED" in page1


def test_page_one_tells_the_whole_story(full_pdf):
    """Verdict, headline, key numbers, the chart and the top three signatures: all on page 1."""
    pages = pdf_text(full_pdf).split("\f")
    page1 = " ".join(pages[0].split())
    assert "Bad: 3 rule(s) fired." in page1  # the headline
    assert "QPS and chaos windows" in page1 and "Orange bands are the chaos windows, numbered as in the injections table" in page1
    assert "Top signatures" in page1
    # Ranked by severity: the fatal panic, then the error, then the warning, each with a sample line.
    top = [page1.index(s) for s in ("index out of range [5] with length 3", "调度失败", "store 4 is disconnected")]
    assert top == sorted(top)
    assert "PANIC" in page1 and page1.count("NEW") >= 2
    assert "Injections" not in pages[0].splitlines()[0:3]  # the tables follow on page 2
    assert "Injections" in pages[1]


def test_signatures_show_new_marks_cjk_and_survive_hostile_samples(full_pdf):
    text = pdf_text(full_pdf)
    assert "NEW" in text
    assert CJK_MESSAGE in text  # drawn with the CJK fallback font, and extractable
    assert "store <N> is disconnected" in text
    assert "Signatures" in text and "All 3 in detail." in " ".join(text.split())
    assert "more lines" not in text  # the panic sample is short enough to show whole
    assert "goroutine 1 [running]" in text
    # The 900-character token is wrapped and trimmed, and what was cut is said.
    assert "chars]" in text
    assert "\x1b" not in text and "\x00" not in text


def test_injections_table_has_a_summary_line_and_marks_the_unrecovered_one(full_pdf):
    text = " ".join(pdf_text(full_pdf).split())
    assert (
        "8 injection(s); worst time to recover 361 s (#8 at 05:00:00); worst drop 93.5 % (#8 at 05:00:00); "
        "1 did not recover within the data." in text
    )
    assert "PodChaos pod-kill-2" in text and "not recovered" in text


def test_metadata_and_the_summary_attachment(full_pdf):
    reader = PdfReader(str(full_pdf))
    meta = reader.metadata
    assert meta.title == "Nightly chaos report 2021-07-09 — cluster-a"
    assert meta.subject == "Bad: 3 rule(s) fired."
    assert meta["/Keywords"] == "bad cluster-a"
    assert meta.creation_date == dt.datetime(2021, 7, 9, 6, 0, tzinfo=dt.UTC)
    obj = json.loads(reader.attachments["summary.json"][0])
    summary = Summary.from_json_obj(obj)
    assert (summary.date, summary.status, summary.suite, summary.schema) == ("2021-07-09", "bad", "cluster-a", 1)
    assert summary.metrics["errors"] == 1236 and summary.metrics["worst_ttr_s"] == 360
    assert [r["rule"] for r in obj["rules_fired"]] == ["fatal > 0", "errors > 100", "worst_ttr_s > 60"]
    sigs = {s["key"]: s for s in obj["signatures"]}
    assert sigs["a1b2c3d4"]["new"] is True and sigs["e5f6a7b8"]["new"] is False
    assert set(sigs["a1b2c3d4"]) == {
        "key", "level", "kind", "pattern", "message", "component", "count", "new", "first_seen", "last_seen"
    }
    assert (sigs["a1b2c3d4"]["kind"], sigs["a1b2c3d4"]["component"]) == ("panic", "tidb-0")
    assert sigs["a1b2c3d4"]["first_seen"] == "2021-07-08T09:00:00+00:00"
    assert [s["key"] for s in obj["signatures"]] == ["a1b2c3d4", "e5f6a7b8", "c9d0e1f2"]  # ranked: fatal, error, warning
    assert len(obj["injections"]) == 8 and obj["injections"][2]["ttr_s"] is None


def test_same_night_same_bytes(full_pdf, tmp_path, fonts):
    again = _write(tmp_path, fonts, name="again.pdf").read_bytes()
    assert again == full_pdf.read_bytes()


def _embedded_fonts(pdf: Path) -> set[str]:
    """Names of every font embedded in the file, used on a page or not (fpdf2 writes no object streams)."""
    return {m.decode().split("+", 1)[-1] for m in re.findall(rb"/FontName /(\S+)", pdf.read_bytes())}


def _page_fonts(pdf: Path, page: int) -> set[str]:
    fonts = PdfReader(str(pdf)).pages[page]["/Resources"]["/Font"]
    return {str(f.get_object()["/BaseFont"]).split("+", 1)[-1] for f in fonts.values()}


def test_cjk_text_is_drawn_with_the_cjk_font_on_its_page(full_pdf):
    pages = pdf_text(full_pdf).split("\f")
    page = next(i for i, text in enumerate(pages) if CJK_MESSAGE in text)
    latin = {name for name in _page_fonts(full_pdf, page) if name.startswith("DejaVu")}
    cjk = _page_fonts(full_pdf, page) - latin
    assert latin and cjk, "the CJK message must be set in the fallback font, not in DejaVu"
    assert "\ufffd" not in pages[page]  # every character of it had a glyph


def test_a_night_without_cjk_text_does_not_load_or_embed_the_cjk_font(tmp_path, fonts):
    from sitegen.nightly.pdf import PdfContext, _Doc

    path = _write(tmp_path, fonts, with_logs=False, with_series=False)
    embedded = _embedded_fonts(path)
    assert "DejaVuSansBook" in embedded and all(name.startswith("DejaVu") for name in embedded), embedded
    doc = _Doc(fonts, PdfContext(status_label="", status_color="#000", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL))
    assert "cjk" not in doc.pdf.fonts
    assert doc.text("plain ASCII, accents é and arrows →") == "plain ASCII, accents é and arrows →"
    assert "cjk" not in doc.pdf.fonts  # DejaVu draws all of that
    assert doc.text("调度") == "调度" and "cjk" in doc.pdf.fonts


def test_no_logs_and_no_metrics_are_said_in_the_pdf(tmp_path, fonts):
    path = _write(tmp_path, fonts, with_logs=False, with_series=False)
    text = " ".join(pdf_text(path).split())
    assert "no logs given" in text and "no metrics given" in text
    assert "No chart: no metrics given." in text
    assert "not measured" in text  # rules on absent numbers say so instead of inventing a 0
    obj = json.loads(PdfReader(str(path)).attachments["summary.json"][0])
    assert obj["status"] == "good" and obj["metrics"] == {} and obj["signatures"] == []


def test_page_one_badge_carries_the_status_colour(full_pdf, tmp_path, fonts):
    _, _, pixels = page_rgb(full_pdf, 1)
    red = share(pixels, lambda r, g, b: r > 190 and g < 60 and b < 70)
    assert red > 0.005
    good = _write(tmp_path, fonts, with_logs=False, with_series=False)
    _, _, pixels = page_rgb(good, 1)
    assert share(pixels, lambda r, g, b: r > 190 and g < 60 and b < 70) < 0.0005
    assert share(pixels, lambda r, g, b: g > 100 and r < 60 and b < 90) > 0.002


def test_any_text_is_made_drawable(fonts):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sitegen.nightly.pdf import PdfContext, _Doc, clean

    doc = _Doc(fonts, PdfContext(status_label="", status_color="#000", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL))

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80))
    def check(text):
        out = clean(text, doc.glyphs)
        assert all(ord(c) in doc.glyphs.known or c in "\n " for c in out)
        assert not any(0 <= ord(c) < 32 and c != "\n" for c in out)
        out.encode("utf-8")  # no lone surrogates left

    check()
    # And fpdf2 lays the worst of it out without complaint.
    doc.pdf.add_page()
    doc.para("\ud800 \u202e right-to-left \x1b[0m \U0001F4A5 " + "长" * 400 + "z" * 3000)
    assert len(bytes(doc.pdf.output())) > 1000
