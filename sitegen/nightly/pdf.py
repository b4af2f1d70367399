"""Lay out a NightReport as a PDF with fpdf2: verdict page, QPS chart, injections, signatures, appendix.

Every string from logs and metrics files is untrusted. PDF text is not markup, so the only
dangers are characters the fonts cannot draw, control characters and sheer length;
`clean` and `trim_sample` deal with those, and fpdf2 itself splits words wider than a cell.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sitegen.model import SUMMARY_ATTACHMENT, clean_text
from sitegen.nightly.fonts import Fonts
from sitegen.nightly.records import ChaosWindow, Injection, NightReport, Signature

log = logging.getLogger(__name__)

INK = (33, 37, 41)
MUTED = (100, 108, 118)
RULE_FIRED_BG = (255, 235, 233)
HEAD_BG = (235, 239, 244)
NEW_COLOR = (207, 34, 46)
SAMPLE_BG = (246, 248, 250)

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
    windows: list[ChaosWindow] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (what, description) for the appendix
    top_signatures: int = 20
    generator: str = "sitegen"


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    if len(color) == 3:
        color = "".join(c * 2 for c in color)
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


# What the report itself writes beyond Latin-1, spelled so the core fonts can draw it.
_CORE_SUBSTITUTES = {"—": "-", "–": "-", "−": "-", "…": "...", "•": "*", "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"'}
# fpdf2 encodes core-font text as Latin-1; below 0x20 and 0x7f-0x9f are control codes, not glyphs.
_LATIN_1 = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x100)])


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


def fmt_number(key: str, value: float | None) -> str:
    """Key numbers as a person reads them: counts as integers, percentages with %, seconds with s."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if key.endswith("_pct"):
        return f"{value:.1f} %"
    if key.endswith("_s"):
        return f"{value:,.0f} s"
    if key.endswith("qps"):
        return f"{value:,.1f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


KEY_NUMBERS = (
    ("errors", "Errors"),
    ("fatal", "Fatal / panic"),
    ("warnings", "Warnings"),
    ("new_signatures", "New signatures"),
    ("injections", "Injections"),
    ("unrecovered", "Not recovered"),
    ("min_qps", "Lowest QPS"),
    ("max_drop_pct", "Worst drop"),
    ("worst_ttr_s", "Worst time to recover"),
    ("signatures", "Error signatures"),
)


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
        self.core = fonts.latin is None  # no DejaVu: fpdf2's core fonts, which need no file
        if self.core:
            self.sans, self.mono = "helvetica", "courier"
            self.glyphs = _Glyphs.core()
        else:
            self.sans, self.mono = "DejaVu", "Mono"
            pdf.add_font("DejaVu", "", str(fonts.latin))
            pdf.add_font("DejaVu", "B", str(fonts.bold))
            pdf.add_font("Mono", "", str(fonts.mono))
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


def _page_one(doc: _Doc, report: NightReport) -> None:
    pdf, ctx = doc.pdf, doc.ctx
    pdf.add_page()
    doc.h1(report.title)
    doc.font(10.5)
    pdf.set_text_color(*MUTED)
    suite = report.suite or "(none)"
    zone = str(ctx.tz)
    pdf.multi_cell(
        0,
        5.5,
        doc.text(
            f"Night {report.night.isoformat()}  ·  suite {suite}\n"
            f"Window {_local(ctx.since, ctx.tz, True)} → {_local(ctx.until, ctx.tz, True)} ({zone})"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_text_color(*INK)
    pdf.ln(3)

    # The badge says the status in words as well as in colour.
    status = report.verdict.status
    label = f"{status.upper()}  —  {ctx.status_label}" if ctx.status_label.lower() != status.lower() else status.upper()
    doc.font(15, bold=True)
    width = pdf.get_string_width(doc.text(label)) + 14
    pdf.set_fill_color(*_rgb(ctx.status_color))
    pdf.set_text_color(255, 255, 255)
    pdf.cell(width, 11, doc.text(label), fill=True, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)  # tables fill unstyled cells with the current colour
    pdf.ln(3)
    doc.para(report.headline, size=11)

    if report.notes:
        pdf.ln(2)
        for note in report.notes:
            doc.para(f"• {note}", size=10, color=MUTED)

    doc.h2("Rules")
    fired = report.verdict.fired
    if not report.verdict.results:
        doc.para("No rules are configured, so the night is " + status + ".", color=MUTED)
    else:
        doc.para(
            f"{len(fired)} of {len(report.verdict.results)} rule(s) fired." if fired else "No rule fired.",
            size=10,
        )
        pdf.ln(1)
        _rules_table(doc, report)

    doc.h2("Key numbers")
    _key_numbers(doc, report.metrics)


def _rules_table(doc: _Doc, report: NightReport) -> None:
    from fpdf.fonts import FontFace

    pdf = doc.pdf
    doc.font(10)
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    with pdf.table(col_widths=(50, 25, 25), text_align=("LEFT", "RIGHT", "CENTER"), headings_style=head, line_height=6) as table:
        row = table.row()
        for title in ("Rule", "Value", "Result"):
            row.cell(title)
        for result in report.verdict.results:
            style = FontFace(fill_color=RULE_FIRED_BG, emphasis="BOLD") if result.fired else None
            row = table.row()
            row.cell(doc.text(result.rule, one_line=True), style=style)
            row.cell(fmt_number(result.metric, result.value) if result.value is not None else "not measured", style=style)
            row.cell("FIRED" if result.fired else "n/a" if result.value is None else "ok", style=style)


def _key_numbers(doc: _Doc, metrics: dict[str, float]) -> None:
    from fpdf.fonts import FontFace

    pdf = doc.pdf
    doc.font(10)
    shown = [(key, label) for key, label in KEY_NUMBERS if key in metrics]
    # Any other number the analysis produced is listed too, after the familiar ones.
    shown += [(key, key.replace("_", " ")) for key in sorted(metrics) if key not in dict(KEY_NUMBERS)]
    if not shown:
        doc.para("No numbers: neither logs nor metrics were given.", color=MUTED)
        return
    label_style = FontFace(color=MUTED)
    with pdf.table(col_widths=(30, 20, 30, 20), text_align=("LEFT", "RIGHT", "LEFT", "RIGHT"), first_row_as_headings=False,
                   line_height=6, borders_layout="HORIZONTAL_LINES") as table:
        for i in range(0, len(shown), 2):
            row = table.row()
            for key, label in shown[i : i + 2]:
                row.cell(label, style=label_style)
                row.cell(fmt_number(key, metrics[key]), style=FontFace(emphasis="BOLD"))
            if len(shown[i : i + 2]) == 1:
                row.cell("")
                row.cell("")


def _chart_page(doc: _Doc, report: NightReport) -> None:
    pdf, ctx = doc.pdf, doc.ctx
    pdf.add_page()
    doc.h2("QPS and chaos windows")
    if ctx.chart_svg is None:
        reason = "no metrics given" if report.series is None else "the metric has no points in the window"
        doc.para(f"No chart: {reason}.", color=MUTED)
    else:
        width = pdf.w - pdf.l_margin - pdf.r_margin
        svg = ctx.chart_svg
        if doc.core:
            # SVG text skips normalize_text, and a core font fails on any character beyond Latin-1.
            svg = re.sub(r">([^<]+)<", lambda m: ">" + doc.glyphs(m[1]) + "<", svg)
        pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, y=pdf.get_y(), w=width)
        pdf.set_y(pdf.get_y() + width * 0.46 + 2)
        if report.series is not None:
            doc.para(
                f"Series: {report.series.name or 'qps'} from {report.series.source or 'the metrics input'}; "
                "orange bands are chaos windows, green dots mark recovery, red dots mark windows that did not recover.",
                size=8.5,
                color=MUTED,
            )
    _injections(doc, report)


def _label(inj: Injection, tz: ZoneInfo) -> str:
    """How the summary line names an injection: when it started."""
    # Windows from one Schedule share a name, so the start time is what tells them apart.
    return f"at {_local(inj.window.start, tz)}"


def _injection_summary(injections: list[Injection], tz: ZoneInfo) -> str:
    ttrs = [i for i in injections if i.ttr_s is not None]
    drops = [i for i in injections if i.drop_pct is not None]
    unrecovered = sum(1 for i in injections if i.ttr_s is None and i.baseline is not None)
    parts = [f"{len(injections)} injection(s)"]
    if ttrs:
        worst = max(ttrs, key=lambda i: i.ttr_s or 0)
        parts.append(f"worst time to recover {worst.ttr_s:,.0f} s ({_label(worst, tz)})")
    if drops:
        worst = max(drops, key=lambda i: i.drop_pct or 0)
        parts.append(f"worst drop {worst.drop_pct:.1f} % ({_label(worst, tz)})")
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
        elif not doc.ctx.windows:
            doc.para("No chaos windows were given and no dip was found in the metric.", color=MUTED)
        else:
            doc.para("No chaos window overlaps the metric's time span.", color=MUTED)
        return
    doc.para(_injection_summary(report.injections, tz), size=10.5)
    pdf.ln(1)
    doc.font(8.5)
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    cols = ("Start", "End", "Name", "Baseline", "Min", "Drop", "TTR", "Errors")
    with pdf.table(col_widths=(13, 13, 38, 14, 12, 11, 17, 10), headings_style=head, line_height=5,
                   text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")) as table:
        row = table.row()
        for title in cols:
            row.cell(title)
        for inj in report.injections:
            w = inj.window
            style = FontFace(color=NEW_COLOR, emphasis="BOLD") if inj.ttr_s is None and inj.baseline is not None else None
            row = table.row()
            row.cell(_local(w.start, tz))
            row.cell(_local(w.end, tz) if w.end else "open")
            name = " ".join(x for x in (w.name, f"({w.kind})" if w.kind else "") if x)
            row.cell(doc.text(name or "—", one_line=True))
            row.cell(fmt_number("qps", inj.baseline))
            row.cell(fmt_number("qps", inj.minimum))
            row.cell(fmt_number("drop_pct", inj.drop_pct))
            row.cell(fmt_number("ttr_s", inj.ttr_s) if inj.ttr_s is not None else "not recovered", style=style)
            row.cell(f"{inj.errors:,}" if report.logs is not None else "—")  # no logs: unknown, not zero


def _signatures(doc: _Doc, title: str, sigs: list[Signature], empty: str, *, new_page: bool = False) -> None:
    from fpdf.fonts import FontFace

    pdf, ctx = doc.pdf, doc.ctx
    if new_page and sigs:
        # A signature row carries a multi-line sample; started low on a page, the first row
        # jumps to the next one and leaves its heading stranded.
        pdf.add_page()
    doc.h2(title)
    if not sigs:
        doc.para(empty, color=MUTED)
        return
    shown = sigs[: ctx.top_signatures]
    if len(sigs) > len(shown):
        doc.para(f"The {len(shown)} most frequent of {len(sigs)} signatures.", size=9, color=MUTED)
    head = FontFace(emphasis="BOLD", fill_color=HEAD_BG)
    new_style = FontFace(color=(255, 255, 255), fill_color=NEW_COLOR, emphasis="BOLD")
    sample_style = FontFace(family=doc.mono, size_pt=7, color=(60, 64, 70), fill_color=SAMPLE_BG)
    doc.font(8.5)
    with pdf.table(col_widths=(13, 11, 10, 96), headings_style=head, line_height=4.6,
                   text_align=("RIGHT", "LEFT", "CENTER", "LEFT"), repeat_headings=1) as table:
        row = table.row()
        for heading in ("Count", "Level", "New", "Signature"):
            row.cell(heading)
        for sig in shown:
            row = table.row()
            # Top-aligned so count, level and NEW sit on the pattern's line.
            row.cell(f"{sig.count:,}", rowspan=2, v_align="TOP")
            row.cell(sig.level, rowspan=2, v_align="TOP")
            row.cell("NEW" if sig.new else "", style=new_style if sig.new else None, rowspan=2, v_align="TOP")
            sources = ", ".join(sig.sources[:4]) + (f" and {len(sig.sources) - 4} more" if len(sig.sources) > 4 else "")
            meta = f"first {_local(sig.first_seen, ctx.tz)}, last {_local(sig.last_seen, ctx.tz)}  ·  {sources or 'unknown source'}"
            row.cell(doc.text(sig.pattern, one_line=True) + "\n" + doc.text(meta, one_line=True))
            row = table.row()
            sample = doc.text(trim_sample(sig.sample))
            row.cell(sample or "(no sample)", style=sample_style)


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
    for what, description in ctx.sources:
        doc.para(f"{what}: {description}", size=9.5)
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
    if ctx.windows:
        doc.para(f"Chaos windows: {len(ctx.windows)}.", size=9.5)
    if report.notes:
        doc.para("Notes: " + " ".join(n.rstrip(".") + "." for n in report.notes), size=9.5, color=MUTED)
    doc.para(f"Written by {ctx.generator}.", size=8, color=MUTED)


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
    _chart_page(doc, report)
    digest = report.logs
    if digest is None:
        doc.h2("Error signatures")
        doc.para("No logs given.", color=MUTED)
    else:
        # Fatal ones first, however rare: a single panic matters more than a thousand timeouts.
        errors = sorted((s for s in digest.signatures if s.level in ("fatal", "error")), key=lambda s: (s.level != "fatal", -s.count))
        warnings = [s for s in digest.signatures if s.level == "warn"]
        _signatures(doc, "Error signatures", errors, "No errors were logged in the window.", new_page=True)
        _signatures(doc, "Warning signatures", warnings, "No warnings were logged in the window.")
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
