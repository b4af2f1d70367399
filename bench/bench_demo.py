#!/usr/bin/env python3
"""Time examples/make_demo.py (36 nights, 2 suites) into a temporary folder, with 1 and 2 worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(jobs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "make_demo.py"), "--out", tmp, "--jobs", str(jobs)],
            capture_output=True, text=True, check=True,
        )
        seconds = time.perf_counter() - started
        pdfs = len(list(Path(tmp).rglob("*.pdf")))
    print(f"jobs={jobs}: {pdfs} nights in {seconds:.1f} s ({seconds / pdfs:.2f} s per night)")
    print("  " + proc.stdout.strip().replace("\n", "\n  "))
    return seconds


def main() -> int:
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    for jobs in (2, 1):
        run(jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
