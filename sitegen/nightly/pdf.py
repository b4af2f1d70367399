"""Lay out a NightReport as a PDF with fpdf2: verdict page, QPS chart, injections, signatures, appendix.

Every string from logs and metrics files is untrusted. PDF text is not markup, so the only
dangers are characters the fonts cannot draw, control characters and sheer length;
`clean` and `trim_sample` deal with those, and fpdf2 itself splits words wider than a cell.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sitegen import limits
from sitegen.errors import printable
from sitegen.model import SUMMARY_ATTACHMENT, clean_text, format_metric
from sitegen.nightly.fonts import Fonts
from sitegen.nightly.manifest import FollowedNight, Gap
from sitegen.nightly.records import Injection, NightReport, Signature

log = logging.getLogger(__name__)

INK = (33, 37, 41)
MUTED = (90, 98, 108)
RULE_FIRED_BG = (255, 235, 233)
FIRED_COLOR = (176, 24, 36)
HEAD_BG = (235, 239, 244)
CHIP_BG = (246, 248, 250)
NEW_COLOR = (207, 34, 46)
PANIC_COLOR = (110, 27, 138)
SAMPLE_BG = (246, 248, 250)
PAGE_ONE_SIGNATURES = 3

# Zero-width, line/paragraph separator and bidi characters draw as boxes or reorder a line; in a PDF they only do harm.
# (Control characters and lone surrogates are model.clean_text's job, as everywhere else.)
_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


@dataclass(slots=True)
class PdfContext:
    """What the PDF shows beyond the NightReport itself: presentation and provenance."""

    status_label: str
    status_color: str  # #rrggbb
    tz: ZoneInfo
    since: dt.datetime
    until: dt.datetime
    created: dt.datetime  # the PDF's creation date: the night, so re-runs give the same bytes
    chart_svg: str | None = None
    chart_note: str = ""  # what the chart's limits left out, said under it
    top_signatures: int = 20  # shown in detail; the others in one line each after them
    generator: str = "sitegen"
    followed: FollowedNight | None = None  # the manifest of `sitegen collect --follow`, when the logs came from it


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    if len(color) == 3:
        color = "".join(c * 2 for c in color)
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


# What the report itself writes beyond Latin-1, spelled so the core fonts can draw it.
_CORE_SUBSTITUTES = {"—": "-", "–": "-", "−": "-", "…": "...", "•": "*", "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"'}
# fpdf2 encodes core-font text as Latin-1; below 0x20 and 0x7f-0x9f are control codes, not glyphs.
_LATIN_1 = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x100)])


def _registered(pdf: Any, fonts: Fonts) -> bool:
    """Register the Latin fonts; False, with a warning, when a configured file is not a font fpdf2 can read (then
    the report is written in the core fonts, as when no font is installed: a font never stops the night)."""
    for family, style, path in (("DejaVu", "", fonts.latin), ("DejaVu", "B", fonts.bold), ("Mono", "", fonts.mono)):
        try:
            pdf.add_font(family, style, str(path))
        except Exception as exc:  # fpdf2 and fontTools raise ValueError, TTLibError, struct.error... for a bad file
            log.warning("fonts: cannot read %s (%s); the report uses the built-in Latin-1 fonts", path, printable(str(exc)))
            return False
    return True


class _Glyphs:
    """Which code points the document's fonts can draw; others become a visible mark instead of fpdf2 warnings or errors.

    The CJK fallback is a large font (parsing it costs more than the three Latin faces together),
    so it is registered only when some text needs a code point the Latin faces lack. Every string
    reaches the PDF through here before fpdf2 lays it out, so the fallback is in place in time.
    """

    def __init__(self, known: set[int], *, missing: str = "\ufffd", substitutes: dict[str, str] | None = None,
                 pdf: object = None, fallback: tuple[str, str] | None = None):
        self.known = known
        self.missing = missing
        self.substitutes = substitutes or {}
        self.pdf = pdf
        self.fallback = fallback  # (family, font file) still to register on first need

    @classmethod
    def of_fonts(cls, pdf: object, families: list[str], fallback: tuple[str, str] | None = None) -> _Glyphs:
        """The glyphs of the registered TrueType families, plus a fallback font loaded on first need."""
        known: set[int] = set()
        for key, font in pdf.fonts.items():  # type: ignore[attr-defined]
            if any(key.startswith(f.lower()) for f in families):
                known.update(getattr(font, "cmap", {}) or {})
        return cls(known, pdf=pdf, fallback=fallback)

    @classmethod
    def core(cls) -> _Glyphs:
        """fpdf2's built-in fonts: Latin-1 only, and U+FFFD is not in it, so "?" marks what is missing."""
        return cls(set(_LATIN_1), missing="?", substitutes=_CORE_SUBSTITUTES)

    def _load_fallback(self) -> None:
        family, path = self.fallback  # type: ignore[misc]
        self.fallback = None
        log.debug("text needs the fallback font: registering %s", path)
        try:
            self.pdf.add_font(family, "", path)  # type: ignore[attr-defined]
        except Exception as exc:  # any font fontconfig says covers Chinese is tried; fpdf2 may not read it
            log.warning("fonts: cannot read %s (%s); CJK text shows as replacement marks", path, exc)
            return
        self.pdf.set_fallback_fonts([family], exact_match=False)  # type: ignore[attr-defined]
        self.known.update(getattr(self.pdf.fonts[family.lower()], "cmap", {}) or {})  # type: ignore[attr-defined]

    def __call__(self, text: str) -> str:
        known = self.known
        if self.fallback is not None and any(ord(c) not in known and c not in "\n " for c in text):
            self._load_fallback()
        return "".join(c if ord(c) in known or c in "\n " else self.substitutes.get(c, self.missing) for c in text)


def clean(text: object, glyphs: _Glyphs | None = None, *, one_line: bool = False) -> str:
    """Make untrusted text safe to lay out: valid Unicode, no control characters, breakable, drawable."""
    # Log text arrives cleaned already; metric, chaos and event names from other files meet clean_text here.
    s = clean_text(str(text), keep_newlines=True)
    s = unicodedata.normalize("NFC", s).replace("\t", "    ")
    s = _INVISIBLE_RE.sub("", s)
    if one_line:
        s = " ".join(s.split())
    if glyphs is not None:
        s = glyphs(s)
    return s


def trim_sample(text: str, *, max_lines: int = 8, max_chars: int = 900, line_chars: int = 220) -> str:
    """A log entry short enough for a table cell; what is cut is said, not silently dropped."""
    lines = text.splitlines() or [""]
    kept = []
    for line in lines[:max_lines]:
        kept.append(line if len(line) <= line_chars else line[:line_chars] + f" …[+{len(line) - line_chars} chars]")
    out = "\n".join(kept)
    if len(out) > max_chars:
        out = out[:max_chars] + " …"
    if len(lines) > max_lines:
        out += f"\n…[+{len(lines) - max_lines} more lines]"
    return out


KEY_NUMBERS = (
    ("errors", "Errors"),
    ("fatal", "Fatal / panic"),
    ("warnings", "Warnings"),
    ("new_signatures", "New signatures"),
    ("injections", "Injections"),
    ("unrecovered", "Not recovered"),
    ("min_qps", "Lowest QPS"),
    ("max_drop_pct", "Worst drop"),
    ("worst_ttr_s", "Worst recovery"),
    ("signatures", "Error signatures"),
)
_KIND_LABEL = {"panic": "PANIC", "fatal": "FATAL", "error": "error", "warn": "warning"}


class _Doc:
    """A thin wrapper holding the FPDF object and the cleaning function bound to its fonts."""

    def __init__(self, fonts: Fonts, ctx: PdfContext):
        from fpdf import FPDF

        # fontTools narrates every font subset at INFO; that is noise on a user's terminal.
        logging.getLogger("fontTools").setLevel(logging.WARNING)
        self.ctx = ctx
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_auto_page_break(auto=True, margin=16)
        pdf.set_margins(16, 16, 16)
        self.core = fonts.latin is None or not _registered(pdf, fonts)  # fpdf2's core fonts need no file
        if self.core:
            self.sans, self.mono = "helvetica", "courier"
            self.glyphs = _Glyphs.core()
        else:
            self.sans, self.mono = "DejaVu", "Mono"
            # Registered fourth either way, so a night with CJK text gives the same bytes as when it was eager.
            fallback = ("CJK", str(fonts.cjk)) if fonts.cjk is not None else None
            self.glyphs = _Glyphs.of_fonts(pdf, ["DejaVu", "Mono"], fallback=fallback)
        # fpdf2 passes every string it draws or measures through normalize_text; replacing there too
        # covers the report's own literals (fmt_number's "—"), which the core fonts cannot encode.
        normalize = pdf.normalize_text
        pdf.normalize_text = lambda text: normalize(self.glyphs(text))
        pdf.set_text_color(*INK)
        pdf.set_fill_color(255, 255, 255)
        self.pdf = pdf

    def text(self, value: object, *, one_line: bool = False) -> str:
        return clean(value, self.glyphs, one_line=one_line)

    def font(self, size: float, bold: bool = False, mono: bool = False) -> None:
        self.pdf.set_font(self.mono if mono else self.sans, "B" if bold and not mono else "", size)

    def h1(self, title: str) -> None:
        self.font(20, bold=True)
        self.pdf.multi_cell(0, 9, self.text(title), align="L", new_x="LMARGIN", new_y="NEXT")

    def h2(self, title: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 75:  # keep a heading with the start of its section
            pdf.add_page()
        pdf.ln(3)
        self.font(14, bold=True)
        pdf.cell(0, 8, self.text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(208, 215, 222)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2)

    def h3(self, title: str) -> None:
        """A small heading for page 1, where height is precious."""
        pdf = self.pdf
        pdf.ln(1.5)
        self.font(10.5, bold=True)
        pdf.cell(0, 5.5, self.text(title), new_x="LMARGIN", new_y="NEXT")

    def para(self, text: str, *, size: float = 10, color: tuple[int, int, int] = INK) -> None:
        self.font(size)
        self.pdf.set_text_color(*color)
        self.pdf.multi_cell(0, size * 0.5, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_text_color(*INK)


def _local(moment: dt.datetime | None, tz: ZoneInfo, with_date: bool = False) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _minute(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --- page 1: the whole story ----------------------------------------------------------------


def _page_one(doc: _Doc, report: NightReport) -> None:
    """Verdict and headline, key numbers and rules, the chart across the page, the top signatures."""
    pdf, ctx = doc.pdf, doc.ctx
    pdf.add_page()
    doc.font(16, bold=True)
    pdf.multi_cell(0, 7.5, doc.text(report.title), align="L", new_x="LMARGIN", new_y="NEXT")
    # The title names the night and the suite; the line under it says what they do not.
    doc.para(
        f"Window {_minute(ctx.since, ctx.tz)} → {_minute(ctx.until, ctx.tz)} ({ctx.tz})  ·  written by {ctx.generator}",
        size=8.5,
        color=MUTED,
    )
    pdf.ln(2)
    _verdict(doc, report)
    if report.notes:
        shown = report.notes[:3]
        more = f" (and {len(report.notes) - 3} more in the appendix)" if len(report.notes) > 3 else ""
        doc.para("Note: " + "; ".join(n.rstrip(".") for n in shown) + more + ".", size=8, color=MUTED)
    pdf.ln(1.5)
    _chips(doc, report)
    _rules_line(doc, report)
    pdf.ln(1)
    _chart(doc, report)
    _top_signatures(doc, report)


def _verdict(doc: _Doc, report: NightReport) -> None:
    """The status badge (in words and colour) with the headline beside it."""
    pdf, ctx = doc.pdf, doc.ctx
    status = report.verdict.status
    label = f"{status.upper()} — {ctx.status_label}" if ctx.status_label.lower() != status.lower() else status.upper()
    doc.font(12, bold=True)
    width = min(62.0, pdf.get_string_width(doc.text(label)) + 10)
    top = pdf.get_y()
    pdf.set_fill_color(*_rgb(ctx.status_color))
    pdf.set_text_color(255, 255, 255)
    pdf.multi_cell(width, 9, doc.text(label), fill=True, align="C", new_x="RIGHT", new_y="TOP")
    badge_bottom = top + 9 * max(1, round((pdf.get_y() - top) / 9) or 1)
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)  # tables fill unstyled cells with the current colour
    pdf.set_xy(pdf.l_margin + width + 4, top + 0.6)
    doc.font(11.5, bold=True)
    pdf.multi_cell(0, 5.6, doc.text(report.headline), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), badge_bottom) + 2)


def _chips(doc: _Doc, report: NightReport) -> None:
    """The key numbers as a grid; the ones a fired rule tested come first, outlined and marked FIRED."""
    pdf, metrics = doc.pdf, report.metrics
    known = dict(KEY_NUMBERS)
    keys = [key for key, _ in KEY_NUMBERS if key in metrics] + sorted(k for k in metrics if k not in known)
    if not keys:
        doc.para("No numbers: neither logs nor metrics were given.", size=9, color=MUTED)
        return
    fired = {r.metric: r for r in report.verdict.fired}
    keys.sort(key=lambda k: k not in fired)  # stable: the familiar order otherwise
    per_row, gap, height = 5, 2.0, 12.5
    width = (pdf.w - pdf.l_margin - pdf.r_margin - gap * (per_row - 1)) / per_row
    for row_start in range(0, len(keys), per_row):
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        y = pdf.get_y()
        for i, key in enumerate(keys[row_start : row_start + per_row]):
            x = pdf.l_margin + i * (width + gap)
            hot = key in fired
            pdf.set_fill_color(*(RULE_FIRED_BG if hot else CHIP_BG))
            pdf.set_draw_color(*(FIRED_COLOR if hot else (216, 222, 228)))
            pdf.set_line_width(0.6 if hot else 0.2)
            pdf.rect(x, y, width, height, style="DF")
            pdf.set_xy(x + 2, y + 1.2)
            doc.font(7.5, bold=hot)
            pdf.set_text_color(*(FIRED_COLOR if hot else MUTED))
            pdf.cell(width - 4, 3.6, _fit(doc, known.get(key, key.replace("_", " ")), width - 4))
            pdf.set_xy(x + 2, y + 5.2)
            doc.font(13, bold=True)
            pdf.set_text_color(*(FIRED_COLOR if hot else INK))
            pdf.cell(width - 4, 6, format_metric(key, metrics[key]))
            if hot:  # said in words, not by colour alone
                doc.font(7, bold=True)
                tag = pdf.get_string_width("FIRED") + 2.4
                pdf.set_xy(x + width - tag - 1.5, y + height - 5.4)
                pdf.set_fill_color(*FIRED_COLOR)
                pdf.set_text_color(255, 255, 255)
                pdf.cell(tag, 3.9, "FIRED", fill=True, align="C")
        pdf.set_text_color(*INK)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_line_width(0.2)
        pdf.set_xy(pdf.l_margin, y + height + gap)


def _rules_line(doc: _Doc, report: NightReport) -> None:
    results = report.verdict.results
    if not results:
        doc.para(f"No rules are configured, so the night is {report.verdict.status}.", size=8.5, color=MUTED)
        return
    parts = []
    for r in results:
        value = format_metric(r.metric, r.value) if r.value is not None else "not measured"
        parts.append(f"{r.rule}: {'FIRED' if r.fired else 'n/a' if r.value is None else 'ok'} ({value})")
    doc.para("Rules  ·  " + "  ·  ".join(parts), size=8, color=INK)


def _chart(doc: _Doc, report: NightReport) -> None:
    """The QPS chart across the full text width, with what it shows said below it."""
    pdf, ctx = doc.pdf, doc.ctx
    doc.h3("QPS and chaos windows")
    if ctx.chart_svg is None:
        reason = "no metrics given" if report.series is None else "the metric has no points in the window"
        doc.para(f"No chart: {reason}.", size=9, color=MUTED)
        return
    width = pdf.w - pdf.l_margin - pdf.r_margin
    svg = ctx.chart_svg
    if doc.core:
        # SVG text skips normalize_text, and a core font fails on any character beyond Latin-1.
        svg = re.sub(r">([^<]+)<", lambda m: ">" + doc.glyphs(m[1]) + "<", svg)
    height = width * _aspect(svg)
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, y=pdf.get_y(), w=width)
    pdf.set_y(pdf.get_y() + height + 1)
    doc.para(_chart_caption(report, ctx), size=7.5, color=MUTED)


def _aspect(svg: str) -> float:
    m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    return float(m[2]) / float(m[1]) if m else 0.46


def _chart_caption(report: NightReport, ctx: PdfContext) -> str:
    series = report.series
    parts = [
        "Orange bands are the chaos windows, numbered as in the injections table; green dots mark recovery, "
        "red dots windows that never recovered, the purple dot the deepest dip."
    ]
    if series is not None and series.points:
        parts.append(f"Series: {series.name or 'qps'} from {series.source or 'the metrics input'}.")
        t0, t1 = series.points[0][0], series.points[-1][0]
        night_s = (ctx.until - ctx.since).total_seconds()
        if night_s > 0 and (t1 - t0) < 0.95 * night_s:
            from sitegen.nightly.chart import duration_text, time_range

            parts.append(
                f"The chart covers {time_range(t0, t1, ctx.tz)}, {duration_text(t1 - t0, hour_digits=0)} of the night's "
                f"{duration_text(night_s, hour_digits=0)} window: the part where the metric has points."
            )
    if ctx.chart_note:
        parts.append(ctx.chart_note)
    return " ".join(parts)


def _top_signatures(doc: _Doc, report: NightReport) -> None:
    """The first signatures of the ranking, one sample line each: NEW ones and panics are in here if there are any."""
    pdf = doc.pdf
    doc.h3("Top signatures")
    if report.logs is None:
        doc.para("No logs given.", size=9, color=MUTED)
        return
    sigs = report.signatures
    if not sigs:
        doc.para("No errors or warnings were logged in the window.", size=9, color=MUTED)
        return
    rest = len(sigs) - min(len(sigs), PAGE_ONE_SIGNATURES)
    doc.para(
        "Ranked by severity (fatal, panic or stack trace, error, warning), then NEW, then count"
        + (f"; all {len(sigs):,} are listed after the injections." if rest else "."),
        size=7.5,
        color=MUTED,
    )
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for sig in sigs[:PAGE_ONE_SIGNATURES]:
        if pdf.get_y() + 11 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(0.8)
        x = pdf.l_margin
        if sig.new:
            x = _tag(doc, x, "NEW", NEW_COLOR)
        x = _tag(doc, x, _KIND_LABEL.get(sig.kind, sig.kind), _kind_color(sig))
        pdf.set_xy(x + 0.5, pdf.get_y())
        doc.font(9, bold=True)
        head = f"{sig.count:,}×  {sig.component + ': ' if sig.component else ''}{_message(sig)}"
        pdf.multi_cell(width - (x - pdf.l_margin) - 0.5, 4.4, doc.text(head, one_line=True), align="L",
                       new_x="LMARGIN", new_y="NEXT")
        doc.font(7, mono=True)
        pdf.set_text_color(*MUTED)
        line = _fit(doc, _first_line(sig.sample), width)
        pdf.cell(width, 3.8, line or "(no sample)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)


def _tag(doc: _Doc, x: float, text: str, color: tuple[int, int, int]) -> float:
    """A small filled label at `x` on the current line; returns the x after it."""
    pdf = doc.pdf
    doc.font(7.5, bold=True)
    width = pdf.get_string_width(text) + 3
    pdf.set_xy(x, pdf.get_y())
    pdf.set_fill_color(*color)
    pdf.set_text_color(255, 255, 255)
    pdf.cell(width, 4.4, text, fill=True, align="C")
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)
    return x + width + 1.2


def _kind_color(sig: Signature) -> tuple[int, int, int]:
    return {0: FIRED_COLOR, 1: PANIC_COLOR, 2: (191, 87, 0)}.get(sig.severity, MUTED)


def _message(sig: Signature) -> str:
    text = (sig.message or sig.pattern).strip()
    return text.split("\n", 1)[0] if text else sig.pattern


def _first_line(sample: str) -> str:
    return next((line for line in sample.splitlines() if line.strip()), "")


def _fit(doc: _Doc, text: str, width: float) -> str:
    """`text` cleaned and cut so it fits `width` mm in the current font, marked with … when cut."""
    text = doc.text(text, one_line=True)
    pdf = doc.pdf
    if pdf.get_string_width(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the mark
        mid = (lo + hi + 1) // 2
        if pdf.get_string_width(text[:mid] + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


# --- the rest ---------------------------------------------------------------------------------


def _rules_table(doc: _Doc, report: NightReport) -> None:
    from fpdf.fonts import FontFace

    pdf = doc.pdf
    doc.h2("Rules")
    if not report.verdict.results:
        doc.para("No rules are configured, so the night is " + report.verdict.status + ".", color=MUTED)
        return
    fired = report.verdict.fired
    doc.para(f"{len(fired)} of {len(report.verdict.results)} rule(s) fired." if fired else "No rule fired.", size=10)
    pdf.ln(1)
    doc.font(9)
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    with pdf.table(col_widths=(50, 25, 25), text_align=("LEFT", "RIGHT", "CENTER"), headings_style=head, line_height=5.5) as table:
        row = table.row()
        for title in ("Rule", "Value", "Result"):
            row.cell(title)
        for result in report.verdict.results:
            style = FontFace(fill_color=RULE_FIRED_BG, emphasis="BOLD") if result.fired else None
            row = table.row()
            row.cell(doc.text(result.rule, one_line=True), style=style)
            row.cell(format_metric(result.metric, result.value) if result.value is not None else "not measured", style=style)
            row.cell("FIRED" if result.fired else "n/a" if result.value is None else "ok", style=style)


def _injection_summary(injections: list[Injection], tz: ZoneInfo) -> str:
    ttrs = [(n, i) for n, i in enumerate(injections, 1) if i.ttr_s is not None]
    drops = [(n, i) for n, i in enumerate(injections, 1) if i.drop_pct is not None]
    unrecovered = sum(1 for i in injections if i.never_recovered)
    parts = [f"{len(injections):,} injection(s)"]
    if ttrs:
        n, worst = max(ttrs, key=lambda p: p[1].ttr_s or 0)
        parts.append(f"worst time to recover {format_metric('ttr_s', worst.ttr_s)} (#{n} at {_local(worst.window.start, tz)})")
    if drops:
        n, worst = max(drops, key=lambda p: p[1].drop_pct or 0)
        parts.append(f"worst drop {format_metric('drop_pct', worst.drop_pct)} (#{n} at {_local(worst.window.start, tz)})")
    if unrecovered:
        parts.append(f"{unrecovered} did not recover within the data")
    return "; ".join(parts) + "."


def _injections(doc: _Doc, report: NightReport) -> None:
    from fpdf.fonts import FontFace

    pdf, tz = doc.pdf, doc.ctx.tz
    doc.h2("Injections")
    if not report.injections:
        if report.series is None:
            doc.para("No metrics given, so injections could not be measured.", color=MUTED)
        elif not report.windows:
            doc.para("No chaos windows were given and no dip was found in the metric.", color=MUTED)
        else:
            doc.para("No chaos window overlaps the metric's time span.", color=MUTED)
        return
    doc.para(_injection_summary(report.injections, tz), size=10)
    # Windows of one Schedule share their name, kind and selector: said once above the table, not in every row.
    faults = [_fault(i) for i in report.injections]
    shared = len(set(faults)) == 1
    if shared and faults[0]:
        doc.para(f"Every injection: {faults[0]}.", size=9, color=MUTED)
    pdf.ln(1)
    doc.font(8)
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    cols = ["#", "Start", "End", "Fault and target", "Baseline", "Min", "Drop", "TTR", "Errors"]
    widths = [6, 15, 15, 56, 16, 15, 13, 18, 12]
    widths[0] += max(0, len(str(len(report.injections))) - 2) * 1.6  # "86,401" rows must not wrap their number
    align = ["RIGHT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"]
    if shared:
        del cols[3], widths[3], align[3]
    rows = _injection_rows(report.injections, limits.REPORT_INJECTION_ROWS)
    if len(rows) < len(report.injections):
        unrecovered = sum(1 for i in report.injections if i.never_recovered)
        which = (f"the {min(unrecovered, len(rows)):,} that did not recover, then the first by time"
                 if unrecovered else "the first by time")
        doc.para(f"The table lists {len(rows):,} of the {len(report.injections):,} injections ({which}), "
                 "numbered as on the chart.", size=9, color=MUTED)
    with pdf.table(col_widths=tuple(widths), headings_style=head, line_height=4.6, text_align=tuple(align)) as table:
        row = table.row()
        for title in cols:
            row.cell(title)
        for number in rows:
            inj, fault = report.injections[number - 1], faults[number - 1]
            w = inj.window
            style = FontFace(color=NEW_COLOR, emphasis="BOLD") if inj.never_recovered else None
            row = table.row()
            row.cell(str(number))
            row.cell(_local(w.start, tz))
            row.cell(_local(w.end, tz) if w.end else "open")
            if not shared:
                row.cell(doc.text(fault or "—"))
            row.cell(format_metric("qps", inj.baseline))
            row.cell(format_metric("qps", inj.minimum))
            row.cell(format_metric("drop_pct", inj.drop_pct))
            row.cell(_recovery_cell(inj), style=style)
            row.cell(f"{inj.errors:,}" if report.logs is not None else "—")  # no logs: unknown, not zero
    if len(rows) < len(report.injections):
        doc.para(f"… and {len(report.injections) - len(rows):,} more injections.", size=9.5)


def _recovery_cell(inj: Injection) -> str:
    """The table's recovery column: the time to recover, "not recovered", or n/a when there was no baseline
    to measure against (the chart's note says so; the words would not fit the column)."""
    if inj.ttr_s is not None:
        return format_metric("ttr_s", inj.ttr_s)
    return "not recovered" if inj.measured else "n/a"


def _injection_rows(injections: list[Injection], limit: int) -> list[int]:
    """The numbers (1-based) of the injections the table lists: all up to `limit`; beyond it, the ones that
    never recovered first, then the earliest, in number order."""
    if len(injections) <= limit:
        return list(range(1, len(injections) + 1))
    chosen = [n for n, i in enumerate(injections, 1) if i.never_recovered][:limit]
    taken = set(chosen)
    for n in range(1, len(injections) + 1):
        if len(chosen) >= limit:
            break
        if n not in taken:
            chosen.append(n)
    return sorted(chosen)


def _fault(inj: Injection) -> str:
    """`PodChaos tikv-failure-nightly: pod-failure on one pod of app.kubernetes.io/component=tikv in tidb-cluster`."""
    from sitegen.nightly.headline import target_text

    w = inj.window
    what = " ".join(x for x in (w.kind, w.name) if x)
    how = " ".join(x for x in (w.action, "on" if w.action and w.target else "", target_text(w)) if x)
    return ": ".join(x for x in (what, how) if x)


def _signatures(doc: _Doc, report: NightReport) -> None:
    """Every signature: the top N in detail, the rest in one line each. Nothing is dropped."""
    from fpdf.fonts import FontFace

    pdf, ctx = doc.pdf, doc.ctx
    sigs = report.signatures
    if report.logs is None:
        doc.h2("Signatures")
        doc.para("No logs given.", color=MUTED)
        return
    if not sigs:
        doc.h2("Signatures")
        doc.para("No errors or warnings were logged in the window.", color=MUTED)
        return
    # A signature row carries a multi-line sample; started low on a page, the first row
    # jumps to the next one and leaves its heading stranded.
    pdf.add_page()
    doc.h2("Signatures")
    shown = sigs[: ctx.top_signatures]
    rest = sigs[len(shown) :]
    doc.para(
        "Ranked by severity (fatal, panic or stack trace, error, warning), then NEW, then count. "
        + (f"The first {len(shown)} of {len(sigs):,} in detail; the other {len(rest):,} follow in one line each."
           if rest else f"All {len(sigs):,} in detail."),
        size=8.5,
        color=MUTED,
    )
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    new_style = FontFace(color=(255, 255, 255), fill_color=NEW_COLOR, emphasis="BOLD")
    sample_style = FontFace(family=doc.mono, size_pt=7, color=(60, 64, 70), fill_color=SAMPLE_BG)
    doc.font(8.5)
    with pdf.table(col_widths=(5, 10, 9, 8, 98), headings_style=head, line_height=4.4,
                   text_align=("RIGHT", "RIGHT", "LEFT", "CENTER", "LEFT"), repeat_headings=1) as table:
        row = table.row()
        for heading in ("#", "Count", "Kind", "New", "Signature"):
            row.cell(heading)
        for number, sig in enumerate(shown, start=1):
            row = table.row()
            # Top-aligned so count, kind and NEW sit on the pattern's line.
            row.cell(str(number), rowspan=2, v_align="TOP")
            row.cell(f"{sig.count:,}", rowspan=2, v_align="TOP")
            row.cell(sig.kind, rowspan=2, v_align="TOP")
            row.cell("NEW" if sig.new else "", style=new_style if sig.new else None, rowspan=2, v_align="TOP")
            sources = ", ".join(sig.sources[:4]) + (f" and {len(sig.sources) - 4} more" if len(sig.sources) > 4 else "")
            meta = (f"first {_local(sig.first_seen, ctx.tz)}, last {_local(sig.last_seen, ctx.tz)}  ·  "
                    f"{sources or 'unknown source'}  ·  key {sig.key}")
            row.cell(doc.text(sig.pattern, one_line=True) + "\n" + doc.text(meta, one_line=True))
            row = table.row()
            sample = doc.text(trim_sample(sig.sample))
            row.cell(sample or "(no sample)", style=sample_style)
    if rest:
        _other_signatures(doc, rest, first=len(shown) + 1)


def _other_signatures(doc: _Doc, sigs: list[Signature], *, first: int) -> None:
    """The signatures beyond the top N, one line each: rank, count, kind, NEW, key, where, message.

    Drawn as plain cells rather than an fpdf2 table: every row is one line by construction, and a night of
    thousands of signatures then costs about a millisecond a row instead of ten.
    """
    pdf = doc.pdf
    doc.h2("Other signatures")
    aligns = ("R", "R", "L", "C", "L", "L", "L")
    heads = ("#", "Count", "Kind", "New", "Key", "Where", "Message")
    widths, next_row = _line_table(doc, heads, (8, 12, 11, 8, 20, 24, 95), aligns)
    line = _LINE
    for number, sig in enumerate(sigs, start=first):
        next_row()
        cells = [str(number), f"{sig.count:,}", sig.kind, "NEW" if sig.new else "", None,
                 _fit(doc, sig.component or "—", widths[5] - 2), _fit(doc, _message(sig), widths[6] - 2)]
        for width, text, align in zip(widths, cells, aligns, strict=True):
            if text is None:  # the key, in the mono face
                doc.font(7, mono=True)
                pdf.cell(width, line, sig.key, align=align, border="B")
                doc.font(7.5)
            else:
                pdf.set_text_color(*(NEW_COLOR if text == "NEW" else INK))
                pdf.cell(width, line, text, align=align, border="B")
        pdf.set_text_color(*INK)
        pdf.ln(line)


def _appendix(doc: _Doc, report: NightReport) -> None:
    from fpdf.fonts import FontFace

    pdf, ctx = doc.pdf, doc.ctx
    pdf.add_page()
    doc.h2("Appendix: inputs")
    doc.para(
        f"Time window: {_local(ctx.since, ctx.tz, True)} → {_local(ctx.until, ctx.tz, True)} ({ctx.tz}); "
        f"times in this report are in {ctx.tz}.",
        size=9.5,
    )
    for source in report.sources:
        doc.para(f"{source.what}: {source.description}", size=9.5)
    digest = report.logs
    if digest is None:
        doc.para("Logs: no logs given.", size=9.5, color=MUTED)
    else:
        doc.para(
            f"Logs: {len(digest.inputs)} input(s); {digest.outside_window:,} entries outside the window were left out.",
            size=9.5,
        )
        if digest.inputs:
            pdf.ln(1)
            doc.font(8)
            head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
            with pdf.table(col_widths=(60, 14, 14, 42), headings_style=head, line_height=4.4,
                           text_align=("LEFT", "RIGHT", "RIGHT", "LEFT")) as table:
                row = table.row()
                for heading in ("File", "Lines", "Entries", "Formats / problems"):
                    row.cell(heading)
                for stats in digest.inputs:
                    row = table.row()
                    row.cell(doc.text(stats.path, one_line=True))
                    row.cell(f"{stats.lines:,}")
                    row.cell(f"{stats.records:,}")
                    formats = ", ".join(f"{name} {count:,}" for name, count in sorted(stats.formats.items(), key=lambda kv: -kv[1]))
                    extra = [formats or "no entries recognised"]
                    if stats.truncated_lines:
                        extra.append(f"{stats.truncated_lines:,} over-long line(s) truncated")
                    extra += stats.problems[:5]
                    row.cell(doc.text("; ".join(extra), one_line=True))
    if ctx.followed is not None:
        _followed(doc, ctx.followed)
    if report.windows:
        doc.para(f"Chaos windows: {len(report.windows)}.", size=9.5)
    if report.notes:
        doc.para("Notes: " + " ".join(n.rstrip(".") + "." for n in report.notes), size=9.5, color=MUTED)
    doc.para(f"Written by {ctx.generator}.", size=8, color=MUTED)


def _stamp(text: str | None, tz: ZoneInfo) -> str:
    """A manifest time (RFC 3339, nanoseconds) in the report's zone, to the second; "?" when missing or unreadable."""
    if not text:
        return "?"
    try:
        moment = dt.datetime.fromisoformat(text[:40])
    except ValueError:
        return limits.short_text(text, 30)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return _local(moment, tz, with_date=True)


def _span_text(first: str | None, last: str | None, tz: ZoneInfo) -> str:
    """`2021-07-09 01:00:00 → 01:30:00`: the second date only when it differs from the first."""
    a, b = _stamp(first, tz), _stamp(last, tz)
    if len(a) == len(b) == 19 and a[:10] == b[:10]:
        b = b[11:]
    return f"{a} → {b}"


def _plain_table(doc: _Doc, heads: tuple[str, ...], shares: tuple[int, ...], aligns: tuple[str, ...],
                 rows: list[list[str]]) -> None:
    """One-line rows drawn as plain cells, the heading repeated on each new page (a bounded number of rows)."""
    pdf = doc.pdf
    widths, next_row = _line_table(doc, heads, shares, aligns)
    for cells in rows:
        next_row()
        for width, text, align in zip(widths, cells, aligns, strict=True):
            pdf.cell(width, _LINE, _fit(doc, text, width - 1.5), align=align, border="B")
        pdf.ln(_LINE)
    pdf.ln(1.5)


_LINE = 4.0  # mm: the height of a one-line table row


def _line_table(
    doc: _Doc, heads: tuple[str, ...], shares: tuple[int, ...], aligns: tuple[str, ...]
) -> tuple[list[float], Callable[[], None]]:
    """Column widths (shares of the text width) and `next_row()`, called before each one-line row.

    Drawn as plain cells rather than an fpdf2 table: a row then costs about a millisecond instead of ten.
    `next_row()` starts a new page with the heading again when the row would not fit, and sets the font.
    """
    pdf = doc.pdf
    total = pdf.w - pdf.l_margin - pdf.r_margin
    widths = [total * share / sum(shares) for share in shares]

    def header() -> None:
        doc.font(7.5, bold=True)
        pdf.set_fill_color(*HEAD_BG)
        for width, head, align in zip(widths, heads, aligns, strict=True):
            pdf.cell(width, _LINE + 0.6, head, align=align, fill=True)
        pdf.ln(_LINE + 0.6)
        pdf.set_fill_color(255, 255, 255)

    def next_row() -> None:
        if pdf.get_y() + _LINE > pdf.page_break_trigger:
            pdf.add_page()
            header()
        doc.font(7.5)

    pdf.set_draw_color(216, 222, 228)
    header()
    return widths, next_row


def _gap_who(gap: Gap) -> str:
    if gap.pod is None:
        return "all pods"
    who = f"{gap.pod}/{gap.container or '?'}"
    if gap.uid:
        who += f" (uid {gap.uid[:8]}" + (f", restart {gap.restart})" if gap.restart is not None else ")")
    return who


def _followed(doc: _Doc, followed: FollowedNight) -> None:
    """The container instances `sitegen collect --follow` kept, and every stretch whose lines may be missing."""
    tz = doc.ctx.tz
    instances, gaps = followed.instances, followed.gaps
    lines = sum(i.lines for i in instances)
    state = "closed the night" if followed.closed else f"had not closed the night (last update {_stamp(followed.updated, tz)})"
    doc.h2("Appendix: followed container instances")
    doc.para(
        f"The logs were kept all night by `sitegen collect --follow`, one file per container instance: "
        f"{len(instances):,} instance(s), {lines:,} line(s), {len(gaps):,} gap(s), {len(followed.errors):,} error(s). "
        f"The follower {state}.",
        size=9.5,
    )
    if instances:
        shown = instances[: limits.REPORT_INSTANCE_ROWS]
        rows = [
            [i.pod, i.container + (" (init)" if i.init else ""), i.uid[:8], str(i.restart), f"{i.lines:,}", i.state,
             _span_text(i.first, i.last, tz) if i.lines else "no lines"]
            for i in shown
        ]
        _plain_table(doc, ("Pod", "Container", "UID", "Restart", "Lines", "State", "First → last line"),
                     (38, 26, 15, 12, 14, 15, 58), ("L", "L", "L", "R", "R", "L", "L"), rows)
        if len(instances) > len(shown):
            doc.para(f"… and {len(instances) - len(shown):,} more instance(s), listed in manifest.json.", size=9, color=MUTED)
    doc.h3("Gaps: where the lines may be missing")
    if not gaps:
        doc.para("None: every instance's stream was resumed without a loss.", size=9.5)
    for gap in gaps[: limits.REPORT_GAP_ROWS]:
        doc.para(f"{_gap_who(gap)}, {_stamp(gap.since, tz)} → {_stamp(gap.until, tz)}: "
                 f"{limits.short_text(gap.reason, 400)}", size=8.5)
        doc.pdf.ln(0.8)
    if len(gaps) > limits.REPORT_GAP_ROWS:
        doc.para(f"… and {len(gaps) - limits.REPORT_GAP_ROWS:,} more gap(s), listed in manifest.json.", size=9, color=MUTED)
    for error in followed.errors[:5]:
        doc.para(f"Follower error: {limits.short_text(error, 300)}", size=8.5, color=MUTED)
    if len(followed.errors) > 5:
        doc.para(f"… and {len(followed.errors) - 5:,} more follower error(s) in manifest.json.", size=8.5, color=MUTED)
    doc.pdf.ln(2)


def render_pdf(report: NightReport, ctx: PdfContext, fonts: Fonts, summary_json: bytes) -> bytes:
    """The whole report as PDF bytes; the same inputs always give the same bytes."""
    doc = _Doc(fonts, ctx)
    pdf = doc.pdf
    pdf.set_title(doc.text(report.title, one_line=True))
    pdf.set_subject(doc.text(report.headline, one_line=True))
    pdf.set_keywords(" ".join(x for x in (report.verdict.status, report.suite) if x))
    pdf.set_author(ctx.generator)
    pdf.set_creator(ctx.generator)
    pdf.set_creation_date(ctx.created)
    pdf.set_lang("en")

    _page_one(doc, report)
    doc.pdf.add_page()
    _injections(doc, report)
    _rules_table(doc, report)
    _signatures(doc, report)
    _appendix(doc, report)

    pdf.embed_file(
        bytes=summary_json,
        basename=SUMMARY_ATTACHMENT,
        mime_type="application/json",
        desc="Machine-readable summary of this report (sitegen summary.json schema)",
        creation_date=ctx.created,
        modification_date=ctx.created,
    )
    return bytes(pdf.output())
