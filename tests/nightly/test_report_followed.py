"""The report of a night `sitegen collect --follow` kept: its appendix lists the instances and the gaps, bounded.

The follower itself (with the real kubectl) is tested in test_follow.py; here the followed folder is written
by the test, so the sizes and the hostile values are chosen, not scripted.
"""

from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader

from sitegen import limits
from sitegen.cli import main

NIGHT = "2021-07-09"


def _instance(n: int, *, lines: int = 2, pod: str | None = None) -> dict:
    return {
        "pod": pod or f"basic-tikv-{n}", "container": "tikv", "init": False, "uid": f"{n:08d}-aaaa-bbbb",
        "restart": n % 3, "container_id": f"containerd://{n:064x}", "file": f"basic-tikv-{n}/tikv.{n:08d}-{n % 3}.log",
        "lines": lines, "first": "2021-07-09T01:00:00.123456789Z", "last": "2021-07-09T01:30:00.000000001Z",
        "state": "done",
    }


def _followed_folder(root: Path, instances: list[dict], gaps: list[dict], **extra) -> Path:
    folder = root / "logs" / NIGHT
    for inst in instances:
        path = folder / inst["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            '2021-07-09T01:00:00.123456789Z [2021/07/09 01:00:00.123 +00:00] [ERROR] [x.go:1] ["boom"]\n'
            '2021-07-09T01:30:00.000000001Z [2021/07/09 01:30:00.000 +00:00] [INFO] [x.go:1] ["ok"]\n'
        )
    manifest = {
        "schema": 3, "mode": "follow", "night": NIGHT, "since": "2021-07-08T06:00:00.000000000Z",
        "until": "2021-07-09T06:00:00.000000000Z", "updated": "2021-07-09T06:01:00.000000000Z", "closed": True,
        "outcome": "partial" if gaps else "ok", "instances": instances, "gaps": gaps, "errors": [], **extra,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _report(capsys, folder: Path, reports: Path) -> tuple[int, str, str]:
    code = main(["report", "--night", NIGHT, "--logs", str(folder), "--reports", str(reports)])
    out, err = capsys.readouterr()
    pdf = out.splitlines()[-1] if code == 0 else ""
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages) if pdf else ""
    return code, text, err


def test_many_instances_and_gaps_are_listed_up_to_the_limit_then_counted(capsys, tmp_path):
    n_inst, n_gaps = limits.REPORT_INSTANCE_ROWS + 37, limits.REPORT_GAP_ROWS + 9
    gaps = [
        {"since": f"2021-07-09T02:{i % 60:02d}:00.000000000Z", "until": f"2021-07-09T03:{i % 60:02d}:05.000000000Z",
         "reason": f"its log stream ended early, number {i}", "pod": f"basic-tikv-{i}", "container": "tikv",
         "uid": f"{i:08d}-aaaa-bbbb", "restart": 1}
        for i in range(n_gaps)
    ]
    folder = _followed_folder(tmp_path, [_instance(n) for n in range(n_inst)], gaps)

    code, text, err = _report(capsys, folder, tmp_path / "reports")

    assert code == 0, err
    assert f"{n_inst:,} instance(s), {2 * n_inst:,} line(s), {n_gaps} gap(s), 0 error(s). The follower closed the night." in text
    assert "basic-tikv-0 tikv 00000000 0 2 done 2021-07-09 01:00:00 → 01:30:00" in text
    last_shown = limits.REPORT_INSTANCE_ROWS - 1
    assert f"basic-tikv-{last_shown} tikv {last_shown:08d}" in text
    assert f"basic-tikv-{last_shown + 1} tikv {last_shown + 1:08d}" not in text
    assert "… and 37 more instance(s), listed in manifest.json." in text
    assert ("basic-tikv-0/tikv (uid 00000000, restart 1), 2021-07-09 02:00:00 → 2021-07-09 03:00:05: "
            "its log stream ended early, number 0") in text
    assert f"number {limits.REPORT_GAP_ROWS - 1}" in text and f"number {limits.REPORT_GAP_ROWS}" not in text
    assert "… and 9 more gap(s), listed in manifest.json." in text
    assert f"the followed logs have {n_gaps} gap(s) where lines may be missing" in text


def test_a_night_without_gaps_says_so(capsys, tmp_path):
    folder = _followed_folder(tmp_path, [_instance(1)], [])
    code, text, err = _report(capsys, folder, tmp_path / "reports")
    assert code == 0, err
    assert "Gaps: where the lines may be missing None: every instance's stream was resumed without a loss." in text


def test_a_hand_edited_manifest_with_odd_values_gives_a_report_not_a_traceback(capsys, tmp_path):
    odd = _instance(1, pod="evil\x1b[31m-pod\u202e")
    odd.update(restart="x", lines={"a": 1}, first=12, last="not a time")
    gap = {"since": None, "until": "2021-07-09T03:00:00Z", "reason": "cut\x00\x07 here\nand there", "restart": "y",
           "pod": "p", "container": "c"}
    folder = _followed_folder(tmp_path, [odd], [gap, "not a gap"], errors="not a list")

    code, text, err = _report(capsys, folder, tmp_path / "reports")

    assert code == 0, err
    assert "Traceback" not in err
    # The escape and the bidi override drawn as visible marks, odd numbers counted as 0.
    assert "evil\ufffd[31m-pod\ufffd tikv 00000001 0 0 done no lines" in text
    assert "p/c, ? → 2021-07-09 03:00:00: cut\\x00\\x07 here\\nand there" in text
    assert "\x1b" not in text and "\u202e" not in text and "\x00" not in text
