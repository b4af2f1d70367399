"""No night is lost for a font: fontconfig finds what the folders lack, and without fonts the PDF still comes out.

Fonts are hidden with a config whose report.font_dirs is an empty folder and, for fontconfig, a PATH
without fc-list; the CLI runs in a subprocess so its stderr is exactly what a user would see.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.nightly import fonts as fonts_module
from sitegen.nightly.fonts import FONT_SUFFIXES, Fonts, find_fonts
from tests.conftest import IN_CI, ROOT
from tests.nightly.pixels import pdf_text
from tests.nightly.report_records import SINCE, UNTIL, UTC, night_report

EXAMPLE = ROOT / "examples" / "night-2021-07-09"
CORE_FONTS = {"Helvetica", "Helvetica-Bold", "Courier"}
CJK_LINE = '{"level":"ERROR","time":"2021/07/08 12:00:00.000 +00:00","caller":"region.go:42","message":"region 调度失败: 副本不足"}\n'


@pytest.fixture(autouse=True)
def fresh_font_cache():
    """find_fonts remembers per process; these tests change what the process can find."""
    fonts_module._resolve.cache_clear()
    fonts_module._fc_index.cache_clear()
    yield
    fonts_module._resolve.cache_clear()
    fonts_module._fc_index.cache_clear()


def _installed() -> Fonts:
    """The fonts this machine has with the default config; the comparison runs need them."""
    found = find_fonts("DejaVuSans.ttf", ["NotoSansCJK-Regular.ttc", "wqy-microhei.ttc"], ["/usr/share/fonts"])
    if found.latin is None or found.cjk is None:
        if IN_CI:
            pytest.fail("DejaVu and a CJK font are needed: scripts/system-deps installs them")
        pytest.skip("needs fonts-dejavu-core and fonts-wqy-microhei (scripts/system-deps)")
    return found


def _sitegen(tmp_path: Path, *args: str, config: str | None = None, fontconfig: bool = True, logs: Path | None = None):
    """`sitegen -q report` on the example night; -q leaves only warnings on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not fontconfig:
        (tmp_path / "bin").mkdir(exist_ok=True)
        env["PATH"] = str(tmp_path / "bin")  # no fc-list; sitegen itself is run by its absolute path
    cmd = [sys.executable, "-m", "sitegen", "-q", "report", "--night", "2021-07-09", "--suite", "tikv-failure",
           "--logs", str(logs or EXAMPLE / "logs"), "--metrics", str(EXAMPLE / "sysbench.log"),
           "--chaos", str(EXAMPLE / "schedule.yaml"), "--reports", str(tmp_path / "reports"), *args]
    if config is not None:
        (tmp_path / "sitegen.yml").write_text(config)
        cmd += ["--config", str(tmp_path / "sitegen.yml")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def _summary(pdf: Path) -> dict:
    return json.loads(PdfReader(str(pdf)).attachments["summary.json"][0])


def _page_fonts(pdf: Path) -> set[str]:
    names = set()
    for page in PdfReader(str(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+", 1)[-1])
    return names


@pytest.fixture(scope="module")
def summary_with_fonts(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("with-fonts")
    _installed()
    proc = _sitegen(tmp)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return _summary(Path(proc.stdout.splitlines()[-1]))


def test_without_any_font_the_report_is_written_with_core_fonts_and_the_same_summary(tmp_path, summary_with_fonts):
    (tmp_path / "empty").mkdir()
    proc = _sitegen(tmp_path, config=f"report:\n  font_dirs: ['{tmp_path / 'empty'}']\n", fontconfig=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    [warning] = proc.stderr.splitlines()  # one warning, nothing else
    assert warning.startswith("fonts: DejaVuSans.ttf not found")
    assert "sudo apt-get install -y fonts-dejavu-core fonts-wqy-microhei" in warning
    pdf = Path(proc.stdout.splitlines()[-1])
    assert pdf == tmp_path / "reports" / "tikv-failure" / "report-2021-07-09-bad.pdf"
    assert _summary(pdf) == summary_with_fonts  # the contract does not depend on the fonts
    assert _page_fonts(pdf) <= CORE_FONTS
    text = " ".join(pdf_text(pdf).split())
    assert "Nightly chaos report 2021-07-09 - tikv-failure" in text  # the em dash, spelled in Latin-1
    assert "BAD - Needs a look" in text and "Error signatures" in text


def test_without_a_cjk_font_dejavu_stays_and_only_cjk_text_is_replaced(tmp_path):
    installed = _installed()
    latin_dir = tmp_path / "dejavu"
    latin_dir.mkdir()
    for face in {installed.latin, installed.bold, installed.mono}:
        shutil.copy(face, latin_dir)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "tidb.log").write_text(CJK_LINE * 3, encoding="utf-8")
    proc = _sitegen(tmp_path, config=f"report:\n  font_dirs: ['{latin_dir}']\n", fontconfig=False, logs=logs)
    assert proc.returncode == 0, proc.stderr
    [warning] = proc.stderr.splitlines()
    assert warning.startswith("fonts: no CJK font found") and "sudo apt-get install -y fonts-wqy-microhei" in warning
    assert "fonts-dejavu-core" not in warning
    pdf = Path(proc.stdout.splitlines()[-1])
    assert any("调度失败" in s["pattern"] for s in _summary(pdf)["signatures"])  # the summary keeps the text
    assert all(name.startswith("DejaVu") for name in _page_fonts(pdf))
    text = pdf_text(pdf)
    assert "region \ufffd\ufffd\ufffd\ufffd: \ufffd\ufffd\ufffd\ufffd" in text and "调度" not in text


def test_fontconfig_finds_the_fonts_when_the_folders_have_none(tmp_path):
    if shutil.which("fc-list") is None:
        if IN_CI:
            pytest.fail("fc-list is missing: install fontconfig")
        pytest.skip("fc-list is not installed (sudo apt-get install -y fontconfig)")
    _installed()
    found = find_fonts("DejaVuSans.ttf", ["no-such-cjk-font.ttc"], [str(tmp_path)])
    assert found.latin is not None and found.latin.name == "DejaVuSans.ttf"
    assert (found.bold.name, found.mono.name) == ("DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
    # No configured CJK font exists anywhere, so any font fontconfig says covers Chinese is taken.
    assert found.cjk is not None and found.cjk.suffix.lower() in FONT_SUFFIXES
    assert found.warning is None


@pytest.mark.parametrize("script", ["exit 1", "exec sleep 30"], ids=["failing", "hanging"])
def test_a_broken_fc_list_is_just_not_found_and_warned_once(tmp_path, monkeypatch, caplog, script):
    fake = tmp_path / "bin" / "fc-list"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setattr(fonts_module, "FC_TIMEOUT_S", 0.3)
    args = ("DejaVuSans.ttf", ["wqy-microhei.ttc"], [str(tmp_path / "none")])
    found = find_fonts(*args)
    assert (found.latin, found.bold, found.mono, found.cjk) == (None, None, None, None)
    assert "fonts-dejavu-core fonts-wqy-microhei" in found.warning
    assert find_fonts(*args) is found  # resolved once per process...
    assert [r.getMessage() for r in caplog.records if r.name == "sitegen.nightly.fonts"] == [found.warning]  # ...said once


def test_core_fonts_lay_out_any_text_and_the_chart(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sitegen.nightly.chart import ChartData, render_svg
    from sitegen.nightly.pdf import PdfContext, _Doc, clean, render_pdf
    from sitegen.nightly.summary import build_summary, encode_summary

    core = Fonts(latin=None, bold=None, mono=None, cjk=None)
    ctx = PdfContext(status_label="", status_color="#000", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL)
    doc = _Doc(core, ctx)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80))
    def check(text):
        clean(text, doc.glyphs).encode("latin-1")  # what fpdf2 needs for a core font

    check()
    doc.pdf.add_page()
    doc.para("\ud800 \u202e right-to-left \x1b[0m \U0001F4A5 — → " + "长" * 400 + "z" * 3000)
    assert len(bytes(doc.pdf.output())) > 1000

    # The chart's own text (a series named in CJK, say) goes into the PDF as SVG, around normalize_text.
    report, windows = night_report()
    report = dataclasses.replace(report, series=dataclasses.replace(report.series, name="每秒查询 — qps"))
    svg = render_svg(ChartData(series=report.series, windows=windows, injections=report.injections, tz=UTC))
    summary = encode_summary(build_summary(report))
    data = render_pdf(report, dataclasses.replace(ctx, chart_svg=svg), core, summary)
    path = tmp_path / "core.pdf"
    path.write_bytes(data)
    assert PdfReader(str(path)).attachments["summary.json"][0] == summary
    assert "???? - qps" in pdf_text(path)


def test_a_cjk_font_fpdf2_cannot_read_costs_only_the_cjk_text(tmp_path, caplog):
    from sitegen.nightly.pdf import PdfContext, _Doc

    installed = _installed()
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"not a font")
    fonts = dataclasses.replace(installed, cjk=broken)
    doc = _Doc(fonts, PdfContext(status_label="", status_color="#000", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL))
    assert doc.text("region 调度") == "region \ufffd\ufffd"
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith(f"fonts: cannot read {broken} (") and warning.endswith("CJK text shows as replacement marks")


def test_fontconfig_is_not_run_when_the_folders_have_every_font(tmp_path, monkeypatch):
    installed = _installed()
    folder = tmp_path / "fonts"
    folder.mkdir()
    for path in {installed.latin, installed.bold, installed.mono, installed.cjk}:
        (folder / path.name).symlink_to(path)
    spy = tmp_path / "bin" / "fc-list"
    spy.parent.mkdir()
    spy.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", str(spy.parent))
    # The second CJK name is the one there: every configured name is tried in the folders before fontconfig.
    found = find_fonts(installed.latin.name, ["no-such-cjk-font.ttc", installed.cjk.name], [str(folder)])
    assert found.latin == folder / installed.latin.name and found.cjk == folder / installed.cjk.name
    assert not (tmp_path / "ran").exists()
