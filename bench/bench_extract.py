"""What reading one report PDF costs: sitegen's quick reader against pypdf, and the extraction cache's decoding.

Two sets of PDFs: the bench's generated ones (bench_build.generate, 3 pages) and the nights `make demo` generates
with the real report wing (examples/make_demo.py: charts, tables, fonts). For each, in one process, best of 3:

    quickpdf.read        the page count and summary.json's bytes, without pypdf (None for other shapes)
    pypdf                PdfReader, the page tree's /Count and the attachment, as extract.py asks for them
    extract (whole)      extract.extract(): read, sniff, the quick reader or pypdf, summary.json parsed and checked

and the cache: decoding 10,000 results from their JSON rows (the format in use) and from JSON objects with key
names (the format before), with the build's garbage-collector threshold.

    .venv/bin/python bench/bench_extract.py [--pdfs 1000]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import generate

from sitegen.site import extract, quickpdf
from sitegen.site.extract import Extracted

ROOT = Path(__file__).resolve().parent.parent


def best_ms(func: Callable[[bytes], object], datas: list[bytes], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for data in datas:
            func(data)
        best = min(best, (time.perf_counter() - start) / len(datas) * 1000)
    return best


def with_pypdf(data: bytes) -> object:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    reader.trailer["/Root"].get_object()["/Pages"].get_object()["/Count"]
    return reader.attachments.get("summary.json")


def objects_form(row: list) -> dict:
    """A cache row as format 2 wrote it: an object with every key named."""
    names = ["title", "summary", "summary_source", "pages", "metrics", "extra", "summary_date", "summary_status",
             "summary_suite", "problems", "signatures"]
    sig_names = ["key", "level", "count", "new", "kind", "component", "message", "pattern", "first_seen", "last_seen"]
    obj = dict(zip(names, row, strict=True))
    obj["signatures"] = [dict(zip(sig_names, s, strict=True)) for s in obj["signatures"]]
    return obj


def from_objects(obj: dict) -> Extracted:
    from sitegen.model import SignatureSummary

    sigs = tuple(s for s in map(SignatureSummary.from_json_obj, obj["signatures"]) if s is not None)
    return Extracted(**{**obj, "problems": tuple(obj["problems"]), "signatures": sigs})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "bench", args.pdfs)
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_demo.py"), "--out", str(Path(tmp) / "demo")],
                       check=True, capture_output=True, cwd=ROOT)
        sets = {
            "bench PDFs": sorted((Path(tmp) / "bench").rglob("*.pdf")),
            "report wing (make demo)": sorted((Path(tmp) / "demo").rglob("*.pdf")),
        }
        print(f"{'PDFs':26} {'count':>5} {'quickpdf.read':>14} {'pypdf':>8} {'extract, whole':>15}   ms per PDF")
        for label, paths in sets.items():
            datas = [p.read_bytes() for p in paths]
            quick_answers = sum(quickpdf.read(d) is not None for d in datas)
            with extract._quiet_pypdf():
                slow = best_ms(with_pypdf, datas)
            quick = best_ms(quickpdf.read, datas)
            sizes = {p: p.stat().st_size for p in paths}
            start = time.perf_counter()
            for p in paths:
                extract.extract(p, sizes[p], 300)
            whole = (time.perf_counter() - start) / len(paths) * 1000
            answered = f"({quick_answers} of {len(datas)} read quickly)"
            print(f"{label:26} {len(datas):5} {quick:14.3f} {slow:8.3f} {whole:15.3f}   {answered}")

        rows = [extract.extract(p, p.stat().st_size, 300).to_row() for p in sets["bench PDFs"]]
    rows = (rows * (10_000 // len(rows) + 1))[:10_000]
    as_rows = [json.dumps(r, separators=(",", ":")).encode() for r in rows]
    as_objects = [json.dumps(objects_form(r), separators=(",", ":")).encode() for r in rows]
    gc.set_threshold(10_000, 10, 10)  # the build's (build._collecting_rarely)
    for label, lines, decode in (("rows (format 3)", as_rows, Extracted.from_row), ("objects (format 2)", as_objects, from_objects)):
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            for line in lines:
                decode(json.loads(line))
            best = min(best, time.perf_counter() - start)
        print(f"cache, 10,000 entries as {label:18}: {sum(map(len, lines)) / 1e6:4.1f} MB, decoded in {best * 1000:5.0f} ms")
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}; pid {os.getpid()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
