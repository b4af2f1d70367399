"""`sitegen nightly`: collect (recorded kubectl) -> real report -> real site build, its lock, log file and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sitegen.config import parse_config
from sitegen.errors import ExitCode, UsageError
from sitegen.nightly.run import run_nightly
from tests.nightly import fake_kubectl

ROOT = Path(__file__).resolve().parents[2]
RECORDING = Path(__file__).parent / "data" / "kubectl"
EXAMPLE = ROOT / "examples" / "night-2021-07-09"

CONFIG = """\
reports: reports
output: public
report:
  suite: tikv-failure
nightly:
  namespace: tidb-cluster
  logs_dir: logs
  metrics: "metrics/{night}/sysbench.log"
  chaos: schedule.yaml
"""


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A config folder with a night's metrics and schedule, a fake kubectl first on PATH, and its environment."""
    work = tmp_path / "site"
    (work / "metrics" / "2021-07-09").mkdir(parents=True)
    shutil.copy(EXAMPLE / "sysbench.log", work / "metrics" / "2021-07-09" / "sysbench.log")
    shutil.copy(EXAMPLE / "schedule.yaml", work / "schedule.yaml")
    (work / "sitegen.yml").write_text(CONFIG)
    return {"work": work, "env": fake_kubectl.environment(tmp_path), "tmp": tmp_path}


def nightly(site: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sitegen", "nightly", "--config", str(site["work"] / "sitegen.yml"), *args],
        env=site["env"], cwd=site["work"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_nightly_collects_reports_and_builds_the_site(site):
    code, _out, err = finish(nightly(site, "--night", "2021-07-09"))
    work: Path = site["work"]
    # basic-tidb-1 vanished during collection: the report and the site are still written, exit 1.
    assert code == 1, err
    logs = work / "logs" / "2021-07-09"
    assert (logs / "basic-tidb-0" / "tidb.previous.log").exists()
    assert json.loads((logs / "manifest.json").read_text())["outcome"] == "partial"
    # The recorded TiDB crashed with a raw Go panic: a fatal entry, so the night is bad.
    pdf = work / "reports" / "tikv-failure" / "report-2021-07-09-bad.pdf"
    assert pdf.exists()
    site_index = (work / "public" / "index.html").read_text()
    assert "2021-07-09" in site_index
    log_text = (work / "nightly.log").read_text()
    assert "collect: pod basic-tidb-1: vanished" in log_text
    assert f"report: wrote {pdf}" in log_text
    assert "build: " in log_text
    assert "nightly: done in " in log_text and "partial: some pods' logs could not be collected" in log_text


def test_second_run_is_refused_while_the_first_holds_the_lock(site):
    gate = site["tmp"] / "go"
    site["env"]["FAKE_KUBECTL_WAIT"] = str(gate)  # the first run waits inside `kubectl get pods`
    first = nightly(site, "--night", "2021-07-09")
    calls = site["tmp"] / "calls.jsonl"
    deadline = time.monotonic() + 30
    while not (calls.exists() and "get" in calls.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, first.communicate()
    try:
        second_code, _out, second_err = finish(nightly(site, "--night", "2021-07-09"))
    finally:
        gate.touch()
    first_code, _out, first_err = finish(first)
    assert second_code == 5
    lock = site["work"] / ".sitegen-nightly.lock"
    assert f"another nightly run holds the lock file {lock} (pid {first.pid} since" in second_err
    assert first_code == 1, first_err
    assert "another nightly run holds the lock file" in (site["work"] / "nightly.log").read_text()
    # The lock went away with the first run: a third run can take it.
    site["env"]["FAKE_KUBECTL_UNREACHABLE"] = "1"
    assert finish(nightly(site, "--night", "2021-07-09"))[0] == 4


def test_unreachable_cluster_exits_4_and_writes_no_report(site):
    site["env"]["FAKE_KUBECTL_UNREACHABLE"] = "1"
    code, _out, err = finish(nightly(site, "--night", "2021-07-09"))
    assert code == 4
    assert "The connection to the server localhost:8080 was refused" in err
    assert "no report written for 2021-07-09: the cluster could not be reached" in err
    assert not (site["work"] / "reports").exists()
    assert "the cluster could not be reached" in (site["work"] / "nightly.log").read_text()


def test_missing_kubectl_exits_3(site, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    site["env"]["PATH"] = str(empty)
    code, _out, err = finish(nightly(site, "--night", "2021-07-09"))
    assert code == 3
    assert "kubectl was not found on PATH" in err
    assert "Traceback" not in err


def test_bad_night_and_bad_config_exit_2(site):
    code, _out, err = finish(nightly(site, "--night", "2021-13-01"))
    assert code == 2
    assert "--night '2021-13-01': expected a date as YYYY-MM-DD" in err
    (site["work"] / "sitegen.yml").write_text(CONFIG + "  schedule: nightly\n")
    code, _out, err = finish(nightly(site))
    assert code == 2
    assert "config key 'nightly.schedule': unknown key" in err
    assert not (site["work"] / "reports").exists()


def test_without_namespace_the_night_that_just_ended_is_reported_from_logs_on_disk(tmp_path):
    """At 06:10 UTC on 07-09 the night that just ended is 2021-07-09; logs already in logs_dir are used."""
    shutil.copytree(EXAMPLE / "logs", tmp_path / "logs" / "2021-07-09")
    shutil.copy(EXAMPLE / "sysbench.log", tmp_path / "sysbench.log")
    config = parse_config(
        {"reports": "reports", "nightly": {"metrics": "sysbench.log", "chaos": str(EXAMPLE / "schedule.yaml")}}, tmp_path
    )
    built = []
    result = run_nightly(config, build=lambda: built.append(True) or "built", now=dt.datetime(2021, 7, 9, 6, 10, tzinfo=dt.UTC))
    assert result.partial is False and result.night == dt.date(2021, 7, 9)
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["report-2021-07-09-bad.pdf"]
    assert result.report == tmp_path / "reports" / "report-2021-07-09-bad.pdf"
    assert built == [True]
    # Five minutes before the night ends, the night that just ended is the one before.
    result = run_nightly(config, now=dt.datetime(2021, 7, 9, 5, 55, tzinfo=dt.UTC))
    assert result.night == dt.date(2021, 7, 8)
    assert result.partial is True  # logs/2021-07-08 does not exist: a report, but not a clean night
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert len(names) == 2 and names[0].startswith("report-2021-07-08-") and names[1] == "report-2021-07-09-bad.pdf"


def test_deploy_manifests_let_the_cronjob_read_pod_logs_and_nothing_more():
    rbac = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))
    kinds = {doc["kind"]: doc for doc in rbac}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding"}
    rules = kinds["Role"]["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]
    binding = kinds["RoleBinding"]
    assert binding["roleRef"]["name"] == kinds["Role"]["metadata"]["name"]
    assert binding["subjects"][0]["name"] == kinds["ServiceAccount"]["metadata"]["name"]

    docs = {doc["kind"]: doc for doc in yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text())}
    job = docs["CronJob"]["spec"]
    pod = job["jobTemplate"]["spec"]["template"]["spec"]
    assert job["concurrencyPolicy"] == "Forbid"
    assert pod["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
    assert pod["containers"][0]["command"][:2] == ["sitegen", "nightly"]
    # The config the job mounts is a valid sitegen config, collecting the namespace the Role covers.
    assert pod["volumes"][0]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    data = docs["ConfigMap"]["data"]
    config = parse_config(yaml.safe_load(data["sitegen.yml"]), Path("/etc/sitegen"))
    assert config.nightly.namespace == kinds["Role"]["metadata"]["namespace"] == docs["CronJob"]["metadata"]["namespace"]
    assert yaml.safe_load(data["schedule.yaml"])["kind"] == "Schedule"



def test_unusable_log_or_lock_path_is_a_usage_error_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n")
    for key in ("log_file", "lock_file"):
        config = parse_config({"nightly": {key: "a-file/x", "namespace": "tidb-cluster"}}, tmp_path)
        with pytest.raises(UsageError, match=rf"\(config key 'nightly\.{key}'\)$") as raised:
            run_nightly(config, night="2021-07-09")
        assert raised.value.exit_code == ExitCode.USAGE
    assert not (tmp_path / "logs").exists()
    # The log file could be opened when the lock file could not: the refusal is in it.
    assert "nightly: stopped: cannot open the lock file" in (tmp_path / "nightly.log").read_text()


def _followed_night(folder: Path, *, closed: bool, gaps: list[dict]) -> int:
    """A night folder as `sitegen collect --follow` leaves it, plus a stray one-shot file; returns its error lines."""
    lines = {
        "basic-tikv-0/tikv.0000000a-0.log": ["ERROR"] * 3 + ["INFO"],
        "basic-tikv-0/tikv.0000000a-1.log": ["ERROR"] * 2,
        "basic-tikv-0/tikv.0000000b-0.log": ["ERROR", "WARN"],
    }
    instances = []
    for n, (rel, levels) in enumerate(lines.items()):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        text = "".join(
            f"2021-07-08T2{n}:00:0{i}.000000000Z [2021/07/08 2{n}:00:0{i}.000 +00:00] [{level}] [store.go:1] [\"line {i}\"]\n"
            for i, level in enumerate(levels)
        )
        (folder / rel).write_text(text)
        uid, restart = rel.split(".")[1].split("-")
        instances.append({"pod": "basic-tikv-0", "container": "tikv", "uid": uid, "restart": int(restart),
                          "container_id": f"containerd://{n}", "file": rel, "lines": len(levels), "state": "done"})
    # What a one-shot collect would have added: the same lines again. The manifest does not list it.
    (folder / "basic-tikv-0" / "tikv.log").write_text((folder / "basic-tikv-0/tikv.0000000a-1.log").read_text() * 5)
    manifest = {"schema": 3, "mode": "follow", "night": "2021-07-09", "closed": closed, "updated": "2021-07-09T06:01:00Z",
                "outcome": "partial" if gaps else "ok", "instances": instances, "gaps": gaps, "errors": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return sum(levels.count("ERROR") for levels in lines.values())


def test_nightly_reports_a_followed_night_from_its_instance_files_and_collects_nothing(site):
    logs = site["work"] / "logs" / "2021-07-09"
    errors = _followed_night(logs, closed=True, gaps=[])
    code, _out, err = finish(nightly(site, "--night", "2021-07-09"))
    assert code == 0, err
    assert not (site["tmp"] / "calls.jsonl").exists()  # kubectl was never run
    [pdf] = (site["work"] / "reports" / "tikv-failure").glob("report-2021-07-09-*.pdf")
    from pypdf import PdfReader

    summary = json.loads(PdfReader(str(pdf)).attachments["summary.json"][0])
    assert summary["metrics"]["errors"] == errors == 6  # each instance once; the stray file is not read
    log_text = (site["work"] / "nightly.log").read_text()
    assert f"using the logs `sitegen collect --follow` kept in {logs}: 3 instance(s) of 2 pod(s), 8 line(s), 0 gap(s)" in log_text


def test_a_followed_night_with_a_gap_or_still_open_is_partial(site):
    logs = site["work"] / "logs" / "2021-07-09"
    gap = {"since": "2021-07-08T21:00:01Z", "until": "2021-07-08T21:00:09Z", "reason": "its log stream ended early",
           "pod": "basic-tikv-0", "container": "tikv", "uid": "0000000a-0000", "restart": 1}
    _followed_night(logs, closed=False, gaps=[gap])
    code, _out, err = finish(nightly(site, "--night", "2021-07-09"))
    assert code == ExitCode.PARTIAL, err
    assert not (site["tmp"] / "calls.jsonl").exists()
    assert ("nightly: gap: basic-tikv-0/tikv (uid 0000000a, restart 1): 2021-07-08T21:00:01Z -> 2021-07-08T21:00:09Z: "
            "its log stream ended early") in err
    assert "the follower has not closed night 2021-07-09 (last update 2021-07-09T06:01:00Z)" in err
    assert "partial: the followed logs have gaps or errors (see manifest.json)" in (site["work"] / "nightly.log").read_text()


def test_the_follower_deployment_shares_the_cronjobs_volume_config_and_night(tmp_path):
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy" / "follow.yaml").read_text())}
    cron = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text())}
    assert set(docs) == {"ServiceAccount", "Role", "RoleBinding", "Deployment"}
    # Watching pods is the one thing more than the CronJob may do.
    assert docs["Role"]["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    assert docs["RoleBinding"]["roleRef"]["name"] == docs["Role"]["metadata"]["name"]
    assert docs["RoleBinding"]["subjects"][0]["name"] == docs["ServiceAccount"]["metadata"]["name"]
    spec = docs["Deployment"]["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"  # never two followers on one folder
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    command = pod["containers"][0]["command"]
    assert command[:3] == ["sitegen", "collect", "--follow"]
    flags = dict(zip(command[3::2], command[4::2], strict=True))
    # The CronJob's config: the follower writes where nightly reads, in the namespace and with the selector it reads.
    config = parse_config(yaml.safe_load(cron["ConfigMap"]["data"]["sitegen.yml"]), Path("/etc/sitegen"))
    assert flags["--config"] == "/etc/sitegen/sitegen.yml"
    assert flags["--out"] == config.nightly.logs_dir
    assert (flags["--namespace"], flags["--selector"]) == (config.nightly.namespace, config.nightly.selector)
    assert int(flags["--max-streams"]) >= 1
    volumes = {v["name"]: v for v in pod["volumes"]}
    cron_pod = cron["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    cron_volumes = {v["name"]: v for v in cron_pod["volumes"]}
    assert volumes["data"] == cron_volumes["data"] and volumes["config"] == cron_volumes["config"]
    term = cron_pod["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["labelSelector"]["matchLabels"] == spec["template"]["metadata"]["labels"] == spec["selector"]["matchLabels"]


def test_without_namespace_a_log_store_export_beside_the_night_is_reported(tmp_path):
    """A logcli export left in logs_dir/<night>/ is read, one stream per pod and container."""
    folder = tmp_path / "logs" / "2021-07-09"
    folder.mkdir(parents=True)
    rows = [
        {"labels": {"pod": f"basic-tikv-{i % 2}", "container": "tikv"}, "timestamp": f"2021-07-08T2{i}:00:00Z",
         "line": f"[2021/07/08 2{i}:00:00.000 +00:00] [ERROR] [store.go:1] [\"region {i} unavailable\"]"}
        for i in range(5)
    ]
    (folder / "loki.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    config = parse_config({"reports": "reports", "nightly": {"chaos": str(EXAMPLE / "schedule.yaml")}}, tmp_path)
    result = run_nightly(config, night="2021-07-09")
    from pypdf import PdfReader

    summary = json.loads(PdfReader(str(result.report)).attachments["summary.json"][0])
    assert summary["metrics"]["errors"] == 5


def test_without_namespace_and_without_logs_on_disk_the_night_is_partial_not_clean(tmp_path):
    """A mistyped logs_dir under cron must not publish a night that looks clean: exit 1, and the log says why."""
    (tmp_path / "sitegen.yml").write_text("reports: reports\nnightly:\n  logs_dir: logz\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sitegen", "nightly", "--config", str(tmp_path / "sitegen.yml"), "--night", "2021-07-09"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == ExitCode.PARTIAL, proc.stderr
    assert "no logs to read" in proc.stderr and str(tmp_path / "logz" / "2021-07-09") in proc.stderr
    assert "Traceback" not in proc.stderr
    reports = list((tmp_path / "reports").glob("report-2021-07-09-*.pdf"))
    assert len(reports) == 1  # the night still has its report, saying no logs were given
    assert "partial: no logs to read" in (tmp_path / "nightly.log").read_text()  # the run's own log file
