"""The example night generator, the committed example night, and the demo generator."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_NIGHT = EXAMPLES / "night-2021-07-09"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make_night = _load("make_night")


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _summary(pdf: Path) -> dict:
    return json.loads(pypdf.PdfReader(pdf).attachments["summary.json"][0])


def test_make_night_is_deterministic_for_a_seed(tmp_path):
    for name in ("a", "b"):
        subprocess.run(
            [sys.executable, str(EXAMPLES / "make_night.py"), "--out", str(tmp_path / name), "--seed", "7", "--panics", "2"],
            check=True, capture_output=True,
        )
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first == second
    other = make_night.generate(make_night.NightSpec(dt.date(2021, 7, 9), seed=8, panics=2))
    assert other["sysbench.log"].encode() != first["sysbench.log"]


def test_committed_example_night_equals_a_fresh_generation_for_seed_1():
    fresh = {rel: text.encode() for rel, text in make_night.generate(make_night.NightSpec(dt.date(2021, 7, 9), seed=1)).items()}
    committed = _tree(EXAMPLE_NIGHT)
    assert sorted(committed) == sorted(fresh)
    for rel in fresh:
        assert committed[rel] == fresh[rel], f"{rel} differs: regenerate with examples/make_night.py --out {EXAMPLE_NIGHT}"
    assert sum(len(b) for b in committed.values()) < 400_000


def test_example_night_has_what_the_readme_promises():
    files = _tree(EXAMPLE_NIGHT)
    components = {rel.split("/")[1].split("-")[1] for rel in files if rel.startswith("logs/")}
    assert components == {"tidb", "tikv", "pd"}
    logs = b"".join(b for rel, b in files.items() if rel.startswith("logs/")).decode()
    assert "[WARN]" in logs and "[ERROR]" in logs
    # a raw Go panic (not a unified-format line), in the log of the TiDB instance it crashed
    panic_files = [rel for rel, b in files.items() if b"Z panic: runtime error" in b]
    assert panic_files and all(rel.endswith("tidb.previous.log") for rel in panic_files)
    assert b"goroutine " in files[panic_files[0]]
    assert files["sysbench.log"].startswith(b"# started at: 2021-07-08T18:00:00Z\nsysbench 1.0.20")
    assert b"kind: Schedule" in files["schedule.yaml"]
    assert b"sitegen report --night 2021-07-09" in files["README.md"]


def test_sitegen_report_on_the_example_night_is_bad_because_of_the_panic(tmp_path):
    night = EXAMPLE_NIGHT
    proc = subprocess.run(
        [
            sys.executable, "-m", "sitegen", "report", "--night", "2021-07-09", "--suite", "tikv-failure",
            "--logs", str(night / "logs"), "--metrics", str(night / "sysbench.log"), "--chaos", str(night / "schedule.yaml"),
            "--reports", str(tmp_path / "reports"),
        ],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    pdf = Path(proc.stdout.strip().splitlines()[-1])
    assert pdf == tmp_path / "reports" / "tikv-failure" / "report-2021-07-09-bad.pdf"
    summary = _summary(pdf)
    assert [r["rule"] for r in summary["rules_fired"]] == ["fatal > 0"]
    assert summary["metrics"]["fatal"] == 1
    # Every scheduled injection dipped and recovered within the minute the rules allow.
    assert len(summary["injections"]) == 8
    assert all(0 < i["drop_pct"] < 95 and 0 < i["ttr_s"] <= 60 for i in summary["injections"])


@pytest.mark.slow
def test_make_demo_writes_both_suites_with_bad_nights_and_replaces_on_rerun(tmp_path):
    out = tmp_path / "reports"
    args = [sys.executable, str(EXAMPLES / "make_demo.py"), "--out", str(out), "--nights", "2"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    assert first.stdout.startswith(f"4 nights across 2 suites in {out} (")
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))
    assert [n.split("/")[0] for n in names] == ["pd-partition"] * 2 + ["tikv-failure"] * 2
    assert "tikv-failure/report-2021-07-09-bad.pdf" in names
    assert _summary(out / "tikv-failure" / "report-2021-07-09-bad.pdf")["suite"] == "tikv-failure"
    # Re-running replaces the same nights' reports rather than adding copies.
    again = subprocess.run([*args[:-1], "1", "--jobs", "1"], capture_output=True, text=True, timeout=300, check=True)
    assert again.stdout.startswith("2 nights across 2 suites")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf")) == names


def _no_fonts(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """make_demo arguments and environment that hide every font: an empty font folder and no fc-list on PATH."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "bin").mkdir()
    config = tmp_path / "sitegen.yml"
    config.write_text(f"report:\n  font_dirs: ['{tmp_path / 'empty'}']\n")
    return ["--config", str(config)], {**os.environ, "PATH": str(tmp_path / "bin")}


@pytest.mark.slow
def test_make_demo_without_fonts_still_writes_every_pdf_and_warns_once(tmp_path):
    args, env = _no_fonts(tmp_path)
    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "make_demo.py"), "--out", str(out), "--nights", "2", *args],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    [warning] = proc.stderr.splitlines()  # said once by main(), not once per worker or night
    assert "sudo apt-get install -y fonts-dejavu-core fonts-wqy-microhei" in warning
    assert len(list(out.rglob("*.pdf"))) == 4
    assert _summary(out / "tikv-failure" / "report-2021-07-09-bad.pdf")["status"] == "bad"


def test_make_demo_says_a_failed_night_in_one_line_and_makes_the_others(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "tikv-failure").write_text("a file where the suite folder should be")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "make_demo.py"), "--out", str(out), "--nights", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("make_demo: failed:")]
    assert line.startswith("make_demo: failed: tikv-failure 2021-07-09: ")
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.pdf")] == ["pd-partition/report-2021-07-09-good.pdf"]
    assert "tikv-failure: no night made" in proc.stdout
