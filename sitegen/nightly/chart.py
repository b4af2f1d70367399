"""The QPS chart: a pygal line chart with chaos windows shaded and recoveries marked, as SVG fpdf2 can draw.

fpdf2 only understands class selectors in an SVG <style>, and pygal prefixes every rule with
`#chart-<uuid>`, so the chart would come out as a black box. `inline_styles` applies the
stylesheet to the elements themselves, which keeps the chart as vectors.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sitegen import limits
from sitegen.model import format_metric
from sitegen.nightly.records import ChaosWindow, Injection, Series

log = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

QPS_COLOR = "#1f5fbf"
WINDOW_COLOR = "#f59e0b"
RECOVERY_COLOR = "#1a7f37"
UNRECOVERED_COLOR = "#cf222e"
DIP_COLOR = "#6e1b8a"
BAND_LABEL_COLOR = "#8a4b00"

# The chart is drawn 1,000 units wide across the page's 178 mm text width: 15 units are 2.7 mm, about 7.6 pt.
FONT_PX = 15
MAX_BAND_LABELS = 40  # beyond this, every n-th band is numbered so the numbers stay apart

Point = tuple[float, float | None]


def downsample_minmax(points: Sequence[Point], target: int) -> list[Point]:
    """Keep at most about `target` points: per time bucket its minimum and maximum (so dips survive) and its gaps."""
    if target < 4 or len(points) <= target:
        return list(points)
    buckets = max(1, target // 2)
    t0, t1 = points[0][0], points[-1][0]
    span = (t1 - t0) or 1.0
    out: list[Point] = []
    current = -1
    lo: Point | None = None
    hi: Point | None = None
    gap: Point | None = None

    def flush() -> None:
        kept = {p for p in (lo, hi, gap) if p is not None}
        out.extend(sorted(kept, key=lambda p: (p[0], p[1] is None)))

    for point in points:
        bucket = min(buckets - 1, int((point[0] - t0) / span * buckets))
        if bucket != current:
            flush()
            current, lo, hi, gap = bucket, None, None, None
        value = point[1]
        if value is None:
            if gap is None:
                gap = point
        else:
            if lo is None or value < lo[1]:  # type: ignore[operator]
                lo = point
            if hi is None or value > hi[1]:  # type: ignore[operator]
                hi = point
    flush()
    return out


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the chart shows; plain values so the chart can be tested without a night's analysis."""

    series: Series
    windows: list[ChaosWindow]
    injections: list[Injection]
    tz: ZoneInfo
    title: str = ""  # the PDF's heading names the chart; a title inside would cost height on page 1


LEGEND_ROOMY = 3  # legend entries from which pygal keeps room enough for the legend below the axis
LEGEND_ROW_PX = round(1.5 * FONT_PX)  # what it keeps per extra row: 1.5 times the legend's font
SECONDS_SHOWN = 600  # spans shorter than this (a short load test) are labelled to the second


def time_range(t0: float, t1: float, tz: ZoneInfo) -> str:
    """`2021-07-08 18:00 → 20:00 (UTC)`: the span a chart covers, with its date and time zone."""
    a, b = dt.datetime.fromtimestamp(t0, tz), dt.datetime.fromtimestamp(t1, tz)
    clock = "%H:%M:%S" if t1 - t0 < SECONDS_SHOWN else "%H:%M"
    end = b.strftime(clock) if a.date() == b.date() else b.strftime(f"%Y-%m-%d {clock}")
    return f"{a.strftime(f'%Y-%m-%d {clock}')} → {end} ({tz})"


def _tick_label(t: float, tz: ZoneInfo, seconds: bool = False) -> str:
    local = dt.datetime.fromtimestamp(t, tz)
    # Midnight is where the date changes: say which day starts there.
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.strftime("%m-%d")
    return local.strftime("%H:%M:%S" if seconds else "%H:%M")


def _first_from(points: Sequence[Point], when: float) -> int:
    """The index of the first point at or after `when`, by time alone: a gap in the series is (t, None), which
    cannot be ordered against a number when two points share a time."""
    import bisect

    return bisect.bisect_left(points, when, key=lambda point: point[0])


def _dip_point(points: Sequence[Point], inj: Injection) -> Point | None:
    """Where the injection's minimum was reached: its first point at that value from the start of the window."""
    start = inj.window.start.timestamp()
    end = inj.recovered_at.timestamp() if inj.recovered_at is not None else math.inf
    if inj.window.end is not None:
        end = max(end, inj.window.end.timestamp())
    for t, v in points[_first_from(points, start) :]:
        if t > end:
            break
        if v is not None and inj.minimum is not None and v <= inj.minimum:
            return (t, v)
    return None


def _epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


def _hour_ticks(t0: float, t1: float, tz: ZoneInfo) -> list[float]:
    """Round local-time ticks, about 6 to 12 of them across the span."""
    span_h = (t1 - t0) / 3600
    if span_h < 2:
        step_s = next((s for s in (1, 2, 5, 10, 15, 30, 60, 300, 600, 900, 1800) if (t1 - t0) / s <= 12), 3600)
    else:
        step_s = 3600 * next((s for s in (1, 2, 3, 4, 6, 12, 24) if span_h / s <= 12), 48)
    start = dt.datetime.fromtimestamp(t0, tz)
    # Align to the step in local wall time, so ticks land on 06:00, 08:00...
    base = start.replace(minute=0, second=0, microsecond=0)
    ticks = []
    tick = base.timestamp()
    stride = min(step_s, 3600)
    while tick <= t1:
        local = dt.datetime.fromtimestamp(tick, tz)
        seconds_of_day = local.hour * 3600 + local.minute * 60 + local.second
        if tick >= t0 and seconds_of_day % step_s == 0:
            ticks.append(tick)
        tick += stride
    return ticks


def _value_at(points: Sequence[Point], when: float) -> float | None:
    """The metric at `when`, for placing a recovery marker on the line."""
    i = _first_from(points, when)
    for j in (i, i - 1, i + 1):
        if 0 <= j < len(points) and points[j][1] is not None:
            return points[j][1]
    return None


@dataclass(frozen=True, slots=True)
class Band:
    """One shaded band: chaos windows `first` to `last` (numbered as in the injections table), merged when close."""

    first: int
    last: int
    start: float
    end: float

    @property
    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}–{self.last}"


def chart_bands(windows: Sequence[ChaosWindow], t0: float, t1: float, limit: int = limits.CHART_BANDS) -> tuple[list[Band], float]:
    """The bands to shade: one per window while there are at most `limit`; beyond it, windows closer than a
    gap are merged, the gap doubling from one thousandth of the span until `limit` bands remain.

    Returns the bands and the gap used (0.0 when nothing was merged), so the caption can say what was drawn.
    """
    spans: list[Band] = []
    for number, window in enumerate(sorted(windows, key=lambda w: w.start), start=1):
        start = max(_epoch(window.start), t0)
        # A window with no known end is drawn as a thin band, so it is still seen.
        end = min(_epoch(window.end), t1) if window.end else start + max(60.0, (t1 - t0) / 400)
        if end <= start or start > t1:
            continue
        spans.append(Band(number, number, start, end))
    if len(spans) <= limit:
        return spans, 0.0
    gap = max((t1 - t0) / 1000, 1e-9)
    while True:
        merged: list[Band] = []
        for band in sorted(spans, key=lambda b: b.start):
            if merged and band.start - merged[-1].end <= gap:
                last = merged[-1]
                merged[-1] = Band(last.first, max(last.last, band.last), last.start, max(last.end, band.end))
            else:
                merged.append(band)
        if len(merged) <= limit:
            return merged, gap
        gap *= 2


def chart_markers(injections: Sequence[Injection], limit: int = limits.CHART_MARKERS) -> list[Injection]:
    """The injections whose recovery (or its absence) gets a dot: all up to `limit`; beyond it, the ones that
    never recovered first, then recovered ones spread evenly over the night. One without a baseline was not
    measured: it gets no dot (its window is still shaded)."""
    measured = [i for i in injections if i.measured]
    if len(measured) <= limit:
        return measured
    unrecovered = [i for i in measured if i.never_recovered][:limit]
    recovered = [i for i in measured if not i.never_recovered]
    room = limit - len(unrecovered)
    if room > 0 and recovered:
        step = len(recovered) / room
        unrecovered += [recovered[int(k * step)] for k in range(min(room, len(recovered)))]
    return unrecovered


@dataclass(frozen=True, slots=True)
class Chart:
    """The chart's SVG, and in words what the limits left out of it ("" when everything is drawn)."""

    svg: str
    note: str = ""


def _chart_note(windows: int, bands: list[Band], gap: float, injections: int, measured: int, markers: int) -> str:
    parts = []
    if gap:
        parts.append(
            f"The {windows:,} chaos windows are drawn as {len(bands):,} band{'s' if len(bands) != 1 else ''}: windows less than "
            f"{duration_text(gap)} apart share one band (at most {limits.CHART_BANDS:,} bands are drawn)."
        )
    if measured < injections:
        parts.append(
            "No injection had data before it to measure against, so none has a recovery dot."
            if not measured
            else f"{injections - measured:,} of the {injections:,} injections had no data before them to measure against "
            "and have no dot."
        )
    if markers < measured:
        parts.append(
            f"Recovery dots are drawn for {markers:,} of the {measured:,} measured injections, those that never recovered first."
        )
    return " ".join(parts)


def duration_text(seconds: float, *, hour_digits: int = 1) -> str:
    """`45 s`, `12 min`, `2.5 h`: a span in the unit that reads best (the PDF's caption wants whole hours)."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 5400:  # from 90 minutes on, hours read better
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.{hour_digits}f} h"


def render_svg(
    data: ChartData, *, max_points: int = 2880, width: int = 1000, height: int = 510, font: str = "DejaVu, sans-serif"
) -> str:
    """The chart as an SVG string with every style inlined, ready for fpdf2 (see `render_chart`)."""
    return render_chart(data, max_points=max_points, width=width, height=height, font=font).svg


def render_chart(
    data: ChartData, *, max_points: int = 2880, width: int = 1000, height: int = 510, font: str = "DejaVu, sans-serif"
) -> Chart:
    """The chart as an SVG string with every style inlined, and what was left out of it.

    `font` is a family list because fpdf2 draws SVG text in the first family the PDF has: DejaVu,
    or fpdf2's core Helvetica (which sans-serif names) when the report falls back to core fonts.
    Bounded: at most CHART_BANDS bands and CHART_MARKERS recovery dots, whatever the number of windows.
    """
    import pygal
    from pygal.style import Style

    raw = [(t, v if v is None or math.isfinite(v) else None) for t, v in data.series.points]
    points = downsample_minmax(raw, max_points)
    values = [v for _, v in points if v is not None]
    if not points:
        raise ValueError("render_svg needs a series with at least one point")
    t0, t1 = points[0][0], points[-1][0]
    top = max(values) if values else 1.0
    top = top * 1.12 if top > 0 else 1.0  # headroom for the band numbers above the line

    colors: list[str] = []
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#333333",
        foreground_strong="#111111",
        foreground_subtle="#bbbbbb",
        opacity=".30",
        opacity_hover=".30",
        stroke_opacity="1",
        stroke_opacity_hover="1",
        guide_stroke_color="#d0d7de",
        major_guide_stroke_color="#d0d7de",
        guide_stroke_dasharray="2,3",
        major_guide_stroke_dasharray="2,3",
        font_family=font,
        label_font_family=font,
        major_label_font_family=font,
        legend_font_family=font,
        title_font_family=font,
        value_font_family=font,
        tooltip_font_family=font,
        no_data_font_family=font,
        label_font_size=FONT_PX,
        major_label_font_size=FONT_PX,
        legend_font_size=FONT_PX,
        title_font_size=FONT_PX + 2,
        value_font_size=FONT_PX,
        value_label_font_size=FONT_PX,
        value_colors=(),
        colors=(QPS_COLOR,),  # replaced below, one colour per series once the series are known
    )

    ticks = _hour_ticks(t0, t1, data.tz) if t1 > t0 else [t0]
    chart = pygal.XY(
        width=width,
        height=height,
        style=style,
        js=[],
        show_dots=False,
        allow_interruptions=True,
        range=(0, top),
        xrange=(t0, t1 if t1 > t0 else t0 + 1),
        x_labels=ticks,
        x_value_formatter=lambda t: _tick_label(t, data.tz, seconds=t1 - t0 < SECONDS_SHOWN),
        value_formatter=lambda v: f"{v:,.0f}",
        x_title=time_range(t0, t1, data.tz),
        show_x_guides=False,
        show_y_guides=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=5,
        legend_box_size=FONT_PX - 3,
        truncate_legend=-1,
        title=data.title or None,
        disable_xml_declaration=True,
        explicit_size=True,
        print_values=False,
        print_labels=True,  # only the band numbers and the dip carry labels
        spacing=6,
        margin=8,
    )
    shade: list[Point] = []
    bands, gap = chart_bands(data.windows, t0, t1)
    for band in bands:
        # One series of rectangles: up at the start, across the top, down at the end, along zero
        # to the next window; pygal fills it down to zero, which shades each window full height.
        shade += [(band.start, 0.0), (band.start, top), (band.end, top), (band.end, 0.0)]
    every = max(1, math.ceil(len(bands) / MAX_BAND_LABELS))
    numbers = [{"value": ((b.start + b.end) / 2, top), "label": b.label} for i, b in enumerate(bands) if i % every == 0]

    deepest = max((i for i in data.injections if i.drop_pct is not None), key=lambda i: i.drop_pct or 0.0, default=None)
    dip = _dip_point(raw, deepest) if deepest is not None else None

    recovered: list[Point] = []
    unrecovered: list[Point] = []
    marked = chart_markers(data.injections)
    for inj in marked:
        if inj.recovered_at is not None:
            when = _epoch(inj.recovered_at)
            recovered.append((when, _value_at(raw, when)))
        else:
            when = min(_epoch(inj.window.end or inj.window.start), t1)
            unrecovered.append((when, _value_at(raw, when) or 0.0))

    # Series order is drawing order: windows behind the line, markers on top.
    css = []
    if shade:
        css.append(f".series.serie-{len(colors)} .line{{stroke:none}}")
        colors.append(WINDOW_COLOR)
        chart.add("chaos window", shade, fill=True)
    css.append(f".series.serie-{len(colors)} .line{{stroke-width:1.3}}")
    colors.append(QPS_COLOR)
    chart.add(data.series.name or "qps", points)
    if recovered:
        colors.append(RECOVERY_COLOR)
        chart.add("recovered", recovered, stroke=False, show_dots=True, dots_size=4)
    if unrecovered:
        colors.append(UNRECOVERED_COLOR)
        chart.add("not recovered", unrecovered, stroke=False, show_dots=True, dots_size=5)
    labelled: dict[int, str] = {}  # series index -> where its labels sit: "inside" the plot's top edge, or "below" the point
    if dip is not None and deepest is not None:
        labelled[len(colors)] = "below"
        colors.append(DIP_COLOR)
        label = "-" + format_metric("drop_pct", deepest.drop_pct)
        chart.add("deepest dip", [{"value": dip, "label": label}], stroke=False, show_dots=True, dots_size=5)
    if numbers:
        labelled[len(colors)] = "inside"
        css.append(f".text-overlay .series.serie-{len(colors)} text{{fill:{BAND_LABEL_COLOR} !important;font-weight:bold}}")
        colors.append(WINDOW_COLOR)
        # No title, so no legend entry; pygal prints labels only beside dots, so the dots are there but invisible.
        chart.add(None, numbers, stroke=False, show_dots=True, dots_size=0.01)
    style.colors = tuple(colors)
    entries = len(colors) - (1 if numbers else 0)
    if entries < LEGEND_ROOMY:
        # pygal keeps room below the axis for its legend as round(sqrt(entries) - 1) rows, too little for one
        # or two: their legend would lie below the picture (where fpdf2 still draws it, over the caption).
        chart.margin_bottom = chart.config.margin + LEGEND_ROW_PX
    svg = chart.render(is_unicode=True)
    measured = sum(1 for i in data.injections if i.measured)
    note = _chart_note(len(data.windows), bands, gap, len(data.injections), measured, len(marked))
    return Chart(_place_labels(inline_styles(svg, extra_css="".join(css)), labelled), note)


def _place_labels(svg: str, labelled: dict[int, str]) -> str:
    """Centre pygal's printed labels on their points (it puts them right of and below them), then move them down a little."""
    if not labelled:
        return svg
    root = ET.fromstring(svg)
    for group in root.iter(f"{{{SVG_NS}}}g"):
        classes = (group.get("class") or "").split()
        index = next((int(c[6:]) for c in classes if c.startswith("serie-") and c[6:].isdigit()), None)
        if index not in labelled:
            continue
        for text in group.iter(f"{{{SVG_NS}}}text"):
            x = float(text.get("x", 0)) - FONT_PX
            y = float(text.get("y", 0)) - FONT_PX  # now on the point, plus a third of the font: the baseline
            y += FONT_PX * 1.1 if labelled[index] == "below" else FONT_PX * 0.6
            text.set("x", f"{x:.2f}")
            text.set("y", f"{y:.2f}")
            style = [d for d in (text.get("style") or "").split(";") if d and not d.startswith("text-anchor")]
            text.set("style", ";".join([*style, "text-anchor:middle"]))
    return ET.tostring(root, encoding="unicode")


# --- applying a stylesheet to the elements -------------------------------------------------

_COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
_RULE_RE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_RE = re.compile(r"([a-zA-Z][\w-]*|\*)?((?:[.#][\w-]+)*)$")
_PART_RE = re.compile(r"([.#])([\w-]+)")


@dataclass(frozen=True, slots=True)
class _Compound:
    tag: str | None
    ids: tuple[str, ...]
    classes: frozenset[str]

    def matches(self, el: ET.Element) -> bool:
        if self.tag and _local(el.tag) != self.tag:
            return False
        if self.ids and el.get("id") not in self.ids:
            return False
        return not self.classes or self.classes <= set((el.get("class") or "").split())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_selector(text: str) -> tuple[list[tuple[str, _Compound]], tuple[int, int, int]] | None:
    """A selector as [(combinator, compound)...] right to left; None for what we do not support (:hover, [attr])."""
    tokens = text.replace(">", " > ").split()
    parts: list[tuple[str, _Compound]] = []
    combinator = " "
    spec = [0, 0, 0]
    for token in tokens:
        if token == ">":
            combinator = ">"
            continue
        match = _SIMPLE_RE.match(token)
        if match is None:
            return None
        tag = match.group(1) if match.group(1) not in (None, "*") else None
        ids = tuple(v for k, v in _PART_RE.findall(match.group(2)) if k == "#")
        classes = frozenset(v for k, v in _PART_RE.findall(match.group(2)) if k == ".")
        spec[0] += len(ids)
        spec[1] += len(classes)
        spec[2] += 1 if tag else 0
        parts.append((combinator, _Compound(tag, ids, classes)))
        combinator = " "
    if not parts:
        return None
    parts.reverse()
    return parts, (spec[0], spec[1], spec[2])


def _matches(parts: list[tuple[str, _Compound]], el: ET.Element, parents: dict[ET.Element, ET.Element]) -> bool:
    """Right-to-left matching with backtracking over descendant combinators."""
    if not parts[0][1].matches(el):
        return False
    rest = parts[1:]
    if not rest:
        return True
    # The combinator stored with parts[0] says how parts[0] relates to the compound to its left (rest[0]).
    combinator = parts[0][0]
    parent = parents.get(el)
    if combinator == ">":
        return parent is not None and _matches(rest, parent, parents)
    while parent is not None:
        if _matches(rest, parent, parents):
            return True
        parent = parents.get(parent)
    return False


def _declarations(body: str) -> list[tuple[str, str, bool]]:
    out = []
    for decl in body.split(";"):
        if ":" not in decl:
            continue
        name, value = decl.split(":", 1)
        name, value = name.strip().lower(), value.strip()
        important = value.endswith("!important")
        value = value.removesuffix("!important").strip()
        # Vendor prefixes and transitions mean nothing in a PDF.
        if name and value and not name.startswith("-") and "transition" not in name:
            out.append((name, value, important))
    return out


def inline_styles(svg: str, extra_css: str = "") -> str:
    """Apply every <style> rule (then `extra_css`) onto the matching elements' style attributes; drop stylesheets and scripts."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    css = "".join("".join(node.itertext()) for node in root.iter() if _local(node.tag) == "style")
    css = _COMMENT_RE.sub("", css + extra_css)
    rules: list[tuple[tuple[int, int, int], int, list[tuple[str, _Compound]], list[tuple[str, str, bool]]]] = []
    order = 0
    for selectors, body in _RULE_RE.findall(css):
        decls = _declarations(body)
        if not decls:
            continue
        for selector in selectors.split(","):
            parsed = _parse_selector(selector.strip())
            if parsed is None:
                continue
            parts, spec = parsed
            rules.append((spec, order, parts, decls))
            order += 1
    # Cascade: lower specificity first, then source order; !important and inline styles win.
    rules.sort(key=lambda r: (r[0], r[1]))
    parents = {child: parent for parent in root.iter() for child in parent}
    # Index rules by the last compound's most selective key to avoid testing every rule on every element.
    for el in root.iter():
        tag = _local(el.tag)
        if tag in ("style", "script", "title", "desc"):
            continue
        normal: dict[str, str] = {}
        important: dict[str, str] = {}
        for _spec, _order, parts, decls in rules:
            if _matches(parts, el, parents):
                for name, value, imp in decls:
                    (important if imp else normal)[name] = value
        if not normal and not important:
            continue
        inline = {}
        for decl in (el.get("style") or "").split(";"):
            if ":" in decl:
                name, value = decl.split(":", 1)
                inline[name.strip().lower()] = value.strip()
        merged = {**normal, **inline, **important}
        if tag == "svg":
            # The root's background-color has no meaning to fpdf2; the background rect carries it.
            merged.pop("background-color", None)
        el.set("style", ";".join(f"{k}:{v}" for k, v in merged.items()))
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) in ("style", "script", "title", "desc"):
                parent.remove(child)
    # A fixed id instead of pygal's random uuid, so the same night gives the same bytes.
    if root.get("id", "").startswith("chart-"):
        root.set("id", "chart")
    return ET.tostring(root, encoding="unicode")
