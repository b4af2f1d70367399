"""Compare `sitegen build` with Debian's hugo on the same 10,000 nightly reports.

hugo gets one markdown page per night (front matter: date, title, summary, suite, status, PDF
link, metrics; body: the summary) and a tiny layout: an index of cards paginated 100 to a page
(every card drawn once, like sitegen's index + monthly archive), one page per night with an
<iframe> and link to its PDF and links to the previous/next night of its suite, and a JSON
catalog of every night (like reports.json). hugo does not read the PDFs and does not copy them.

sitegen runs on the PDFs themselves (the generator of bench_build.py). Scenarios, each a fresh
process, interleaved so both tools see the same machine load:

    hugo cold          no public/ and no resources/ (hugo has no persistent incremental build
                       outside `hugo server`: every run renders and writes every page)
    hugo second run    public/ left from the previous run
    hugo one new page  one more markdown page, then a full run again
    sitegen cold       no output, no extraction cache: opens and reads every PDF
    sitegen warm-cache output deleted, extraction cache kept: render + write of every page, the
                       apples-to-apples figure against hugo
    sitegen no-change  nothing changed
    sitegen one new    one more PDF

    .venv/bin/python bench/bench_hugo.py [--reports 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import generate, run_child, summary_for

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "hugo"
HUGO = shutil.which("hugo")
TIME = Path("/usr/bin/time")

CONFIG = """\
baseURL = "http://127.0.0.1:8000/"
title = "Nightly chaos reports"
paginate = 100
buildFuture = true  # the generated nights run into the 2030s
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
[outputs]
home = ["HTML", "JSON"]
"""

BASEOF = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ block "title" . }}{{ .Site.Title }}{{ end }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>{{ block "main" . }}{{ end }}</body></html>
"""

CARD = """\
<article class="card" data-status="{{ .Params.status }}" data-date="{{ .Date.Format "2006-01-02" }}" data-suite="{{ .Params.suite }}">
  <div class="card-top"><span class="badge">{{ .Params.status }}</span> <span class="suite">{{ .Params.suite }}</span></div>
  <h2><a href="{{ .RelPermalink }}">
  <time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "Mon 2 Jan 2006" }}</time></a></h2>
  <p class="card-subtitle">{{ .Title }}</p>
  <p class="summary">{{ .Params.summary }}</p>
  <dl class="metrics">{{ range $k, $v := .Params.metrics }}<div><dt>{{ $k }}</dt><dd>{{ $v }}</dd></div>{{ end }}</dl>
  <div class="card-foot"><a class="pdf-link" href="{{ .Params.pdf }}">PDF</a></div>
</article>
"""

INDEX = """\
{{ define "main" }}<h1>{{ .Site.Title }}</h1>
{{ $pager := .Paginate (where .Site.RegularPages "Section" "nights").ByDate.Reverse }}
<main class="grid">{{ range $pager.Pages }}{{ partial "card.html" . }}{{ end }}</main>
<nav class="pager">{{ if $pager.HasPrev }}<a href="{{ $pager.Prev.URL }}">newer</a>{{ end }}
{{ if $pager.HasNext }}<a href="{{ $pager.Next.URL }}">older</a>{{ end }}</nav>{{ end }}
"""

INDEX_JSON = """\
{{- $rows := slice -}}
{{- range (where .Site.RegularPages "Section" "nights").ByDate.Reverse -}}
{{- $rows = $rows | append (dict "date" (.Date.Format "2006-01-02") "suite" .Params.suite "status" .Params.status
  "title" .Title "summary" .Params.summary "metrics" .Params.metrics "page" .RelPermalink "pdf" .Params.pdf) -}}
{{- end -}}
{{- dict "reports" $rows | jsonify -}}
"""

SINGLE = """\
{{ define "title" }}{{ .Date.Format "2006-01-02" }} · {{ .Params.suite }} · {{ .Params.status }}{{ end }}
{{ define "main" }}<header>
<nav><a href="{{ "/" | relURL }}" rel="up">← All nights</a>
{{ with .NextInSection }}<a rel="prev" href="{{ .RelPermalink }}">‹ {{ .Date.Format "2006-01-02" }}</a>
{{- else }}<span>No earlier night</span>{{ end }}
{{ with .PrevInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Date.Format "2006-01-02" }} ›</a>
{{- else }}<span>No later night</span>{{ end }}</nav>
<span class="badge">{{ .Params.status }}</span>
<h1><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "Mon 2 Jan 2006" }}</time>
<span class="suite">{{ .Params.suite }}</span></h1>
<p>{{ .Title }}</p>
<dl class="metrics">{{ range $k, $v := .Params.metrics }}<div><dt>{{ $k }}</dt><dd>{{ $v }}</dd></div>{{ end }}</dl>
<a class="button" href="{{ .Params.pdf }}" download>Download PDF</a>
</header>
<div class="summary">{{ .Content }}</div>
<iframe src="{{ .Params.pdf }}" title="Report PDF" style="width:100%;height:80vh"></iframe>{{ end }}
"""

LIST = """\
{{ define "main" }}<h1>{{ .Title }}</h1><p><a href="{{ "/" | relURL }}">All nights</a></p>{{ end }}
"""


def page_for(summary: bytes, pdf_name: str) -> str:
    """One night as hugo markdown, from the same summary.json the PDF carries."""
    obj = json.loads(summary)
    front = {
        "date": obj["date"],
        "title": obj["title"],
        "summary": obj["headline"],
        "suite": obj["suite"],
        "status": obj["status"],
        "pdf": f"/pdf/{obj['suite']}/{pdf_name}",
        "metrics": obj["metrics"],
    }
    # JSON front matter: hugo reads it natively and it needs no escaping rules of its own.
    return json.dumps(front, indent=1) + "\n\n" + obj["headline"] + "\n"


def write_page(site: Path, summary: bytes, pdf_name: str) -> None:
    obj = json.loads(summary)
    target = site / "content" / "nights" / obj["suite"] / f"{obj['date']}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page_for(summary, pdf_name))


def make_hugo_site(site: Path, count: int) -> None:
    """The hugo project: config, layouts and one page per night, for the nights generate() writes."""
    shutil.rmtree(site, ignore_errors=True)
    files = {
        "hugo.toml": CONFIG,
        "layouts/_default/baseof.html": BASEOF,
        "layouts/partials/card.html": CARD,
        "layouts/index.html": INDEX,
        "layouts/index.json": INDEX_JSON,
        "layouts/_default/single.html": SINGLE,
        "layouts/_default/list.html": LIST,
    }
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    for section in ("nights", "nights/cluster-0", "nights/cluster-1"):
        (site / "content" / section).mkdir(parents=True, exist_ok=True)
        (site / "content" / section / "_index.md").write_text(f'{{"title": "{section}"}}\n')
    start = dt.date(2016, 1, 1)
    for i in range(count):  # the same nights, in the same order, as bench_build.generate()
        day = start + dt.timedelta(days=i // 2)
        status = "bad" if i % 7 == 0 else "good"
        write_page(site, summary_for(i, day, status), f"report-{day.isoformat()}-{status}.pdf")


def run_hugo(site: Path) -> dict:
    """One `hugo --quiet` under /usr/bin/time -v: wall seconds, peak RSS and pages written."""
    env = {**os.environ, "HUGO_CACHEDIR": str(OUT / "hugo-cache")}
    start = time.perf_counter()
    proc = subprocess.run(
        [str(TIME), "-v", HUGO, "--quiet", "--source", str(site), "--destination", str(site / "public")],
        capture_output=True, text=True, env=env, check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"hugo failed:\n{proc.stdout}\n{proc.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    return {"seconds": wall, "rss_mb": rss, "cpu": user + system, "sys": system}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def count_files(folder: Path, suffix: str) -> int:
    return sum(1 for _ in folder.rglob(f"*{suffix}"))


def main() -> int:
    global OUT  # run_hugo keeps hugo's cache under the chosen folder too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--where", type=Path, default=None,
        help="build in a folder 'sitegen-vs-hugo' made inside this one (default: bench/out/hugo); e.g. /dev/shm: no disk",
    )
    args = parser.parse_args()
    if HUGO is None or not TIME.exists():
        print("skipped: needs hugo and /usr/bin/time (as root: apt-get install -y hugo time)")
        return 0
    version = subprocess.run([HUGO, "version"], capture_output=True, text=True, check=False).stdout.strip()

    if args.where is not None:  # a folder of our own inside it: the whole of OUT is deleted first
        OUT = args.where.resolve() / "sitegen-vs-hugo"
    shutil.rmtree(OUT, ignore_errors=True)
    reports, site = OUT / "reports", OUT / "hugo"
    t = time.perf_counter()
    head, tail = generate(reports, args.reports)
    make_hugo_site(site, args.reports)
    print(f"generated {args.reports} PDFs and markdown pages in {time.perf_counter() - t:.1f} s under {OUT}")
    print(f"{version}; load average before: {load()}")

    rows: dict[str, list[dict]] = {name: [] for name in (
        "hugo cold", "hugo second run", "hugo one new page",
        "sitegen cold", "sitegen warm-cache full rebuild", "sitegen no-change", "sitegen one new report",
        "sitegen config change (every page redrawn in place)",
    )}
    loads = [load()]
    for extra in range(1, args.repeat + 1):
        shutil.rmtree(site / "public", ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)
        rows["hugo cold"].append(run_hugo(site))
        rows["hugo second run"].append(run_hugo(site))

        shutil.rmtree(OUT / "public", ignore_errors=True)
        shutil.rmtree(OUT / ".sitegen-cache", ignore_errors=True)
        rows["sitegen cold"].append(run_child(OUT))
        rows["sitegen no-change"].append(run_child(OUT))
        shutil.rmtree(OUT / "public")
        rows["sitegen warm-cache full rebuild"].append(run_child(OUT))

        day = dt.date(2030, 1, 1) + dt.timedelta(days=extra)
        summary = summary_for(args.reports + extra, day, "bad")
        name = f"report-{day.isoformat()}-bad.pdf"
        (reports / "cluster-0" / name).write_bytes(head + summary + tail)
        rows["sitegen one new report"].append(run_child(OUT))
        write_page(site, summary, name)
        rows["hugo one new page"].append(run_hugo(site))
        rows["sitegen config change (every page redrawn in place)"].append(run_child(OUT, {"title": f"Renamed {extra}"}))
        loads.append(load())

    html = {"hugo": count_files(site / "public", ".html"), "sitegen": count_files(OUT / "public", ".html")}
    cold = rows["sitegen cold"][0]
    warm = rows["sitegen warm-cache full rebuild"][0]
    if cold["extracted"] != args.reports or cold["warnings"] or warm["extracted"] != 0:
        raise SystemExit(f"unexpected sitegen build: cold {cold}, warm-cache {warm}")
    print(f"\nHTML files in the last output: hugo {html['hugo']}, sitegen {html['sitegen']}")
    print(f"load average after each round: {' | '.join(loads)}")
    print(f"\n{'scenario':52} {'median s':>9} {'min s':>7} {'process s':>10} {'peak RSS MB':>12} {'CPU s':>6} {'sys s':>6}")
    for name, runs in rows.items():
        times = [r["seconds"] for r in runs]
        if name.startswith("hugo"):
            rss = max(r["rss_mb"] for r in runs)
            wall = statistics.median(times)
        else:
            rss = max(max(r["rss_self_mb"], r["rss_workers_mb"]) for r in runs)
            wall = statistics.median(r["wall"] for r in runs)
        cpu, system = statistics.median(r["cpu"] for r in runs), statistics.median(r["sys"] for r in runs)
        print(f"{name:52} {statistics.median(times):9.3f} {min(times):7.3f} {wall:10.3f} {rss:12.0f} {cpu:6.2f} {system:6.2f}")
    print("(hugo: the whole process; sitegen median/min: build_site(), process: the whole child with start-up;")
    print(" CPU: user + system of the whole process tree, median; sys: the system part, file creation mostly)")
    for name in ("sitegen cold", "sitegen warm-cache full rebuild", "sitegen one new report",
                 "sitegen config change (every page redrawn in place)"):
        stages = rows[name][0]["timings"]
        med = {s: statistics.median(r["timings"].get(s, 0) for r in rows[name]) for s in stages}
        print(f"{name} stages (median): " + ", ".join(f"{s} {v:.2f}" for s, v in med.items() if v >= 0.01))
    return 0


if __name__ == "__main__":
    sys.exit(main())
