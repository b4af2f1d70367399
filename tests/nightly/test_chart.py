"""The QPS chart: dips survive downsampling, and fpdf2 draws it as real coloured vectors, not a black box."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from fpdf import FPDF

from sitegen import limits
from sitegen.nightly.chart import ChartData, chart_bands, chart_markers, downsample_minmax, inline_styles, render_svg
from sitegen.nightly.records import ChaosWindow, Injection, Series
from tests.nightly.pixels import page_rgb, share
from tests.nightly.report_records import UTC, injections_for, qps_day


def test_downsampling_keeps_a_one_second_dip_and_the_gaps():
    points = [(float(t), 1000.0) for t in range(86_400)]
    points[50_001] = (50_001.0, 3.0)  # one bad second in a day
    for t in range(70_000, 70_100):
        points[t] = (float(t), None)
    out = downsample_minmax(points, 2880)
    assert len(out) <= 2880 * 1.5
    assert (50_001.0, 3.0) in out
    assert any(v is None and 70_000 <= t < 70_100 for t, v in out)
    assert [t for t, _ in out] == sorted(t for t, _ in out)
    assert min(v for _, v in out if v is not None) == 3.0


def test_short_series_are_left_alone():
    points = [(float(t), float(t % 7)) for t in range(100)]
    assert downsample_minmax(points, 2880) == points


def test_stylesheet_rules_land_on_the_elements_with_cascade_order():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" id="chart-1234"><defs><style type="text/css">'
        "#chart-1234 .plot > .background{fill:#ff0000}"
        "#chart-1234 .plot .background{fill:#00ff00}"  # less specific than the child rule? same: later wins
        "#chart-1234 .line{stroke:#0000ff;stroke-width:2}"
        "#chart-1234 .line:hover{stroke:#000000}"
        "#chart-1234 .keep{fill:#123456 !important}"
        "</style></defs>"
        '<g class="plot"><rect class="background" width="5" height="5"/>'
        '<path class="line keep" d="M0 0 L1 1" style="fill:#ffffff"/></g><script>alert(1)</script></svg>'
    )
    out = inline_styles(svg)
    assert "<style" not in out and "<script" not in out
    assert 'id="chart"' in out
    rect = re.search(r"<rect[^>]*>", out).group(0)
    assert "fill:#00ff00" in rect  # equal specificity: the later rule wins
    path = re.search(r"<path[^>]*>", out).group(0)
    assert "stroke:#0000ff" in path and "stroke-width:2" in path
    assert "#000000" not in path  # :hover is not applied
    assert "fill:#123456" in path  # !important beats the inline style


def _chart_pdf(tmp_path: Path, svg: str) -> Path:
    pdf = FPDF(orientation="L")
    pdf.add_font("DejaVu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=10)
    pdf.add_page()
    pdf.image(io.BytesIO(svg.encode()), x=10, y=10, w=270)
    path = tmp_path / "chart.pdf"
    pdf.output(str(path))
    return path


def test_the_chart_is_drawn_with_lines_and_shaded_windows_not_a_black_box(tmp_path):
    series, windows = qps_day(step_s=1, dips_every_h=6)  # 86,400 points, 4 windows
    svg = render_svg(ChartData(series=series, windows=windows, injections=injections_for(windows), tz=UTC))
    assert "<style" not in svg
    assert svg.count("<path") < 200  # the day became one downsampled line, not 86,400 dots
    pdf = _chart_pdf(tmp_path, svg)
    assert b"/Subtype /Image" not in pdf.read_bytes()  # vectors, not a raster
    _, _, pixels = page_rgb(pdf, 1, dpi=50)
    black = share(pixels, lambda r, g, b: r < 40 and g < 40 and b < 40)
    white = share(pixels, lambda r, g, b: r > 245 and g > 245 and b > 245)
    blue = share(pixels, lambda r, g, b: b > 150 and r < 110 and g < 150)  # the QPS line
    orange = share(pixels, lambda r, g, b: r > 240 and 200 < g < 235 and b < 200)  # shaded windows
    green = share(pixels, lambda r, g, b: g > 100 and r < 60 and b < 90)  # recovery markers
    assert black < 0.05, f"{black:.0%} of the page is black"
    assert white > 0.6
    assert blue > 0.003 and orange > 0.0005 and green > 0.00005, (blue, orange, green)


def _windows(starts: list[float], length: float) -> list:
    return [
        ChaosWindow(start=dt.datetime.fromtimestamp(s, UTC), end=dt.datetime.fromtimestamp(s + length, UTC), name="w")
        for s in starts
    ]


def test_up_to_the_band_limit_every_window_is_its_own_band():
    windows = _windows([i * 400.0 for i in range(limits.CHART_BANDS)], 60)
    bands, gap = chart_bands(windows, 0.0, 86_400.0)
    assert gap == 0.0
    assert [(b.label, b.start, b.end) for b in bands] == [(str(i + 1), i * 400.0, i * 400.0 + 60) for i in range(len(windows))]


def test_beyond_the_band_limit_close_windows_share_a_band_and_every_window_is_still_shaded():
    # Bursts: 50 pod-kills five seconds apart every half hour, 2,400 windows in all.
    starts = [h * 1800.0 + k * 5 for h in range(48) for k in range(50)]
    windows = _windows(starts, 2)
    bands, gap = chart_bands(windows, 0.0, 86_400.0)
    assert len(bands) <= limits.CHART_BANDS
    assert len(bands) == 48 and 0 < gap < 1800  # one band per burst: the bursts stay apart
    assert bands[0].label == "1–50" and bands[-1].label == "2351–2400"
    for s in starts:
        assert any(b.start <= s and s + 2 <= b.end for b in bands), s


def test_recovery_dots_beyond_the_limit_keep_every_window_that_never_recovered():
    windows = _windows([i * 10.0 for i in range(5_000)], 2)
    injections = [
        Injection(window=w, baseline=100.0, minimum=1.0, drop_pct=99.0, ttr_s=None if i % 1000 == 7 else 5.0,
                  recovered_at=None if i % 1000 == 7 else w.end, errors=0)
        for i, w in enumerate(windows)
    ]
    marked = chart_markers(injections)
    assert len(marked) == limits.CHART_MARKERS
    assert sum(1 for i in marked if i.recovered_at is None) == 5
    assert len({id(i) for i in marked}) == len(marked)


def _legend_bottom(svg: str) -> tuple[float, float]:
    """Where the legend's first row ends (its translate plus one legend box) and how tall the picture is."""
    legend = re.search(r'translate\(([\d.]+), ([\d.]+)\)" class="legends"', svg)
    height = re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', svg)
    assert legend is not None and height is not None
    return float(legend.group(2)) + 14, float(height.group(1))


def test_a_load_test_of_seconds_is_labelled_to_the_second_with_its_legend_inside_the_picture():
    """A 30 s sysbench run used to get six ticks all reading 17:00 and a legend below the SVG, over the caption."""
    start = dt.datetime(2021, 7, 8, 17, 0, 1, tzinfo=UTC).timestamp()
    series = Series(name="qps", points=[(start + s, 5000.0 + 100 * (s % 3)) for s in range(30)])
    windows = [ChaosWindow(start=dt.datetime(2021, 7, 8, 20, tzinfo=UTC), end=None, name="later", kind="PodChaos")]
    unmeasured = [Injection(window=windows[0], baseline=None, minimum=None, drop_pct=None, ttr_s=None, recovered_at=None, errors=0)]
    for injections in ([], unmeasured):
        svg = render_svg(ChartData(series=series, windows=windows, injections=injections, tz=UTC))
        ticks = re.findall(r">(\d\d:\d\d:\d\d)</text>", svg)
        assert len(ticks) >= 5 and len(set(ticks)) == len(ticks), ticks
        assert "2021-07-08 17:00:01 → 17:00:30 (UTC)" in svg
        bottom, height = _legend_bottom(svg)
        assert bottom <= height
        assert "not recovered" not in svg  # an injection with nothing before it to compare with was not measured


def test_the_legend_fits_the_picture_whatever_the_number_of_series():
    series, windows = qps_day(step_s=60, dips_every_h=6)
    for injections in ([], injections_for(windows)):
        for shown in (windows[:0], windows):
            svg = render_svg(ChartData(series=series, windows=shown, injections=injections if shown else [], tz=UTC))
            bottom, height = _legend_bottom(svg)
            assert bottom <= height
