"""Benchmark the QPS chart: a report PDF for an 86,400-point day (one point a second) must take 3 s or less.

Two measurements, each the median of --repeat runs:

- chart + PDF: render_svg (min/max downsampling, pygal, style inlining) and render_pdf of a whole
  night from in-memory records, i.e. the report wing's own cost;
- end to end: `sitegen report --metrics day.csv --chaos windows.csv` in a fresh process, which also
  reads the 86,400-row CSV and analyses the injections.

    .venv/bin/python bench/bench_chart.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitegen.config import parse_config  # noqa: E402
from sitegen.nightly.chart import ChartData, render_svg  # noqa: E402
from sitegen.nightly.fonts import fonts_from_config  # noqa: E402
from sitegen.nightly.pdf import PdfContext, render_pdf  # noqa: E402
from sitegen.nightly.summary import build_summary, encode_summary  # noqa: E402
from tests.nightly.report_records import SINCE, UNTIL, UTC, injections_for, night_report, qps_day  # noqa: E402

GOAL_S = 3.0


def chart_and_pdf(repeat: int) -> tuple[float, float, int]:
    """Median seconds for the chart alone and for chart + PDF, and the PDF's size."""
    fonts = fonts_from_config(parse_config({}, ROOT).report)
    series, windows = qps_day(step_s=1)
    assert len(series.points) == 86_400
    report, _ = night_report()
    report.series = series
    report.injections = injections_for(windows)
    chart_times, total_times, size = [], [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        svg = render_svg(ChartData(series=series, windows=windows, injections=report.injections, tz=UTC))
        chart_times.append(time.perf_counter() - start)
        ctx = PdfContext(
            status_label="Needs a look", status_color="#cf222e", tz=UTC, since=SINCE, until=UNTIL, created=UNTIL,
            chart_svg=svg,
        )
        data = render_pdf(report, ctx, fonts, encode_summary(build_summary(report)))
        total_times.append(time.perf_counter() - start)
        size = len(data)
    return statistics.median(chart_times), statistics.median(total_times), size


def end_to_end(repeat: int) -> float:
    """Median wall time of a real `sitegen report` process on an 86,400-row CSV day."""
    series, windows = qps_day(step_s=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "day.csv"
        csv.write_text("timestamp,qps\n" + "".join(f"{t:.0f},{'' if v is None else v}\n" for t, v in series.points))
        chaos = folder / "windows.csv"
        chaos.write_text("start,end\n" + "".join(f"{w.start.isoformat()},{w.end.isoformat()}\n" for w in windows))  # type: ignore[union-attr]
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "sitegen", "-q", "report", "--night", "2021-07-09", "--metrics", str(csv),
                 "--chaos", str(chaos), "--reports", str(folder / "reports")],
                check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chart_s, total_s, size = chart_and_pdf(args.repeat)
    e2e_s = end_to_end(args.repeat)
    today = dt.date.today().isoformat()
    print(f"date {today}, 86,400 points, median of {args.repeat}")
    print(f"chart (downsample + pygal + inline styles): {chart_s:.2f} s")
    print(f"chart + whole PDF (in memory):             {total_s:.2f} s  ({size:,} bytes)")
    print(f"sitegen report end to end (CSV + chaos):   {e2e_s:.2f} s")
    worst = max(total_s, e2e_s)
    print(f"goal <= {GOAL_S:.0f} s: {'met' if worst <= GOAL_S else 'MISSED'}")
    return 0 if worst <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
