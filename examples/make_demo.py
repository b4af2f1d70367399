#!/usr/bin/env python3
"""Generate the demo's reports: many nights across two suites, some bad, each a real `sitegen report` run.

Every night is made by make_night.py in a temporary folder and turned into a PDF in-process with
run_report. Nights of one suite run in date order (NEW signatures compare with the night before);
the suites run in parallel. Re-running replaces the same nights' reports. A night that fails is
one line on stderr, never a traceback, and the other nights are still made.

    python examples/make_demo.py --out demo/reports
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_night

DEFAULT_END = dt.date(2021, 7, 9)


def night_plan(suite: str, nights: int, end: dt.date, seed: int) -> list[make_night.NightSpec]:
    """Which kind of night each date is: mostly good, with panics, slow recoveries and error storms mixed in."""
    plan = []
    for i in range(nights):
        night = end - dt.timedelta(days=nights - 1 - i)
        # Drawn per date, so a night comes out the same whatever --nights says.
        roll = random.Random(f"demo:{seed}:{suite}:{night}").random()
        panics = 1 if roll < 0.12 else 2 if roll < 0.15 else 0
        slow = 0.15 <= roll < 0.24
        storm = 0.24 <= roll < 0.30
        plan.append(make_night.NightSpec(night, seed, suite, panics, slow, storm))
    # The newest night of the first suite is always bad, so the demo opens on something to look at.
    if suite == make_night.SUITES[0] and not any(s.panics or s.slow_recovery or s.error_storm for s in plan[-1:]):
        last = plan[-1]
        plan[-1] = make_night.NightSpec(last.night, last.seed, suite, 1, last.slow_recovery, last.error_storm)
    return plan


def demo_config(out: str, config_file: str | None):
    """The config the nights are reported with: the given file (or the defaults), writing into `out`."""
    from sitegen.config import load_config, parse_config

    config = load_config(Path(config_file)) if config_file else parse_config({}, Path(out))
    return config.with_overrides(reports=out)


Row = tuple[str, str, str, float]  # night, status, pdf path, seconds


def run_suite(out: str, config_file: str | None, specs: list[make_night.NightSpec]) -> tuple[list[Row], list[str]]:
    """Report every night of one suite in date order: a Row for each, and one line per night that failed."""
    from sitegen.errors import SitegenError
    from sitegen.nightly.report import ReportRequest, run_report

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    # main() has already said what a missing font costs; every worker saying it again is noise.
    logging.getLogger("sitegen.nightly.fonts").setLevel(logging.ERROR)
    config = demo_config(out, config_file)
    done, failed = [], []
    for spec in specs:
        started = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix=f"night-{spec.night}-") as tmp:
                folder = Path(tmp)
                make_night.write_night(folder, spec)
                request = ReportRequest(
                    night=spec.night.isoformat(),
                    logs=[str(folder / "logs")],
                    metrics=str(folder / "sysbench.log"),
                    chaos=str(folder / "schedule.yaml"),
                    suite=spec.suite,
                )
                outcome = run_report(config, request)
        except Exception as exc:  # one bad night must not cost the others, nor print a traceback
            # A SitegenError's message is written for the user; anything else is a bug, so say its type too.
            why = str(exc) if isinstance(exc, SitegenError) else f"{type(exc).__name__}: {exc}"
            failed.append(f"{spec.suite} {spec.night}: {why}")
            continue
        done.append((spec.night.isoformat(), outcome.status, str(outcome.path), time.perf_counter() - started))
    return done, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="reports folder to write into (one sub-folder per suite)")
    parser.add_argument("--nights", type=int, default=18, help="nights per suite (default: 18, so 36 in all)")
    parser.add_argument("--end", default=DEFAULT_END.isoformat(), help=f"the newest night (default: {DEFAULT_END})")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--jobs", type=int, default=2, help="suites generated in parallel (default: 2)")
    parser.add_argument("--config", help="sitegen config to report with, e.g. other fonts or rules (default: sitegen's defaults)")
    args = parser.parse_args(argv)
    if args.nights < 1:
        parser.error("--nights must be at least 1")
    try:
        end = dt.date.fromisoformat(args.end)
    except ValueError:
        parser.error(f"--end {args.end!r}: expected YYYY-MM-DD")

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        from sitegen.nightly.fonts import fonts_from_config

        # Resolved here first so a missing font is one warning before any work, not one per worker.
        fonts_from_config(demo_config(str(out), args.config).report)
    except Exception as exc:  # a bad --config is a message, not a traceback
        print(f"make_demo: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    plans = [night_plan(suite, args.nights, end, args.seed) for suite in make_night.SUITES]
    results: list[list[Row]] = []
    failed: list[str] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=min(args.jobs, len(plans))) as pool:
            futures = [pool.submit(run_suite, str(out), args.config, plan) for plan in plans]
            for suite, future in zip(make_night.SUITES, futures, strict=True):
                try:
                    rows, errors = future.result()
                except Exception as exc:  # a dead worker (killed, out of memory) is one line too
                    rows, errors = [], [f"{suite}: {type(exc).__name__}: {exc}"]
                results.append(rows)
                failed += errors
    else:
        for plan in plans:
            rows, errors = run_suite(str(out), args.config, plan)
            results.append(rows)
            failed += errors

    total = sum(len(r) for r in results)
    print(f"{total} nights across {len(results)} suites in {out} ({time.perf_counter() - started:.1f} s)")
    for suite, rows in zip(make_night.SUITES, results, strict=True):
        statuses: dict[str, int] = {}
        for _night, status, _path, _secs in rows:
            statuses[status] = statuses.get(status, 0) + 1
        counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no night made"
        slowest = f" (slowest night {max(secs for *_rest, secs in rows):.1f} s)" if rows else ""
        print(f"  {suite}: {counts}{slowest}")
    for line in failed:
        print(f"make_demo: failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
