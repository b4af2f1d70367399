"""The chart reads at 100 % zoom: labels of at least 7 pt, a date and zone on the x axis, numbered bands, the deepest dip."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sitegen.nightly.chart import SVG_NS, ChartData, render_svg
from tests.nightly.report_records import UTC, injections_for, qps_day

PAGE_TEXT_MM = 178  # the chart is drawn across A4's text width
PT_MM = 25.4 / 72


def _svg() -> tuple[str, ET.Element]:
    series, windows = qps_day()
    svg = render_svg(ChartData(series=series, windows=windows, injections=injections_for(windows), tz=UTC))
    return svg, ET.fromstring(svg)


def _texts(root: ET.Element) -> list[ET.Element]:
    return [t for t in root.iter(f"{{{SVG_NS}}}text") if (t.text or "").strip()]


def test_every_label_is_at_least_7_pt_on_the_page():
    svg, root = _svg()
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg)[1])
    sizes = [float(re.search(r"font-size:([\d.]+)px", t.get("style", ""))[1]) for t in _texts(root)]
    assert sizes
    assert min(sizes) * PAGE_TEXT_MM / width / PT_MM >= 7.0


def test_the_x_axis_says_the_date_and_the_zone():
    _, root = _svg()
    texts = [t.text for t in _texts(root)]
    assert "2021-07-08 06:00 → 2021-07-09 05:59 (UTC)" in texts
    assert "07-09" in texts  # midnight names the day that starts there


def test_bands_are_numbered_as_in_the_injections_table_and_the_deepest_dip_is_marked():
    _, root = _svg()
    overlay = next(g for g in root.iter(f"{{{SVG_NS}}}g") if "text-overlay" in (g.get("class") or "").split())
    printed = [t.text for t in _texts(overlay)]
    # injections_for gives drops 90.0, 90.5, ... 93.5 %: the eighth window is the deepest.
    assert printed == ["-93.5 %", *(str(n) for n in range(1, 9))]
    assert "deepest dip" in [t.text for t in _texts(root)]  # in the legend
