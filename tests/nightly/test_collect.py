"""`sitegen collect` against a recorded kubectl placed first on PATH."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nightly import fake_kubectl

RECORDING = Path(__file__).parent / "data" / "kubectl"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kube(tmp_path: Path) -> dict:
    """A copy of the recording, a fake kubectl first on PATH, and the environment to run sitegen with."""
    env = fake_kubectl.environment(tmp_path)
    return {"rec": tmp_path / "rec", "env": env, "calls": tmp_path / "calls.jsonl", "out": tmp_path / "out"}


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sitegen", *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def calls_of(kube: dict) -> list[list[str]]:
    return [json.loads(line) for line in kube["calls"].read_text().splitlines()]


def test_collect_writes_one_file_per_container_and_previous_logs(kube):
    proc = run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    out: Path = kube["out"]
    # basic-tidb-1 vanished between `get pods` and `logs`: partial result, exit 1.
    assert proc.returncode == 1, proc.stderr
    rec_logs = kube["rec"] / "logs"
    expected = sorted(str(p.relative_to(rec_logs)) for p in rec_logs.rglob("*.log"))
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.log"))
    assert written == expected
    for rel in expected:
        assert (out / rel).read_bytes() == (rec_logs / rel).read_bytes()
    assert not list(out.rglob("*.part"))
    assert "basic-tidb-1" in proc.stdout and "vanished" in proc.stdout
    assert "collected 8 file(s) from 5 pod(s)" in proc.stdout


def test_manifest_records_pods_restarts_version_commands_and_errors(kube):
    run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    manifest = json.loads((kube["out"] / "manifest.json").read_text())
    assert manifest["namespace"] == "tidb-cluster"
    assert manifest["schema"] == 3 and manifest["mode"] == "once" and manifest["outcome"] == "partial"
    assert manifest["kubectl"]["version"] == "v1.21.2"
    pods = {p["name"]: p for p in manifest["pods"]}
    assert sorted(pods) == ["basic-pd-0", "basic-tidb-0", "basic-tidb-1", "basic-tikv-0", "basic-tikv-1"]
    tidb = {c["name"]: c for c in pods["basic-tidb-0"]["containers"]}
    assert tidb["tidb"]["restart_count"] == 1
    assert tidb["tidb"]["files"] == ["basic-tidb-0/tidb.log", "basic-tidb-0/tidb.previous.log"]
    assert tidb["slowlog"]["files"] == ["basic-tidb-0/slowlog.log"]
    assert pods["basic-tikv-0"]["containers"][0]["restart_count"] == 2
    init = pods["basic-tikv-1"]["containers"][0]
    assert (init["name"], init["init"]) == ("init-data", True)
    assert pods["basic-tidb-1"]["status"] == "vanished"
    assert 'pods "basic-tidb-1" not found' in pods["basic-tidb-1"]["errors"][0]
    assert all(pods[name]["status"] == "ok" for name in pods if name != "basic-tidb-1")
    # Every kubectl call is recorded, as the fake kubectl saw it.
    assert [c["argv"][1:] for c in manifest["commands"]] == calls_of(kube)


def test_previous_is_fetched_only_for_restarted_containers(kube):
    run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    logs_calls = [c for c in calls_of(kube) if c[0] == "logs"]
    assert all("--timestamps" in c and "--since=24h" in c for c in logs_calls)
    previous = sorted((c[c.index("-n") + 2], c[c.index("-c") + 1]) for c in logs_calls if "--previous" in c)
    assert previous == [("basic-tidb-0", "tidb"), ("basic-tikv-0", "tikv")]
    # After the NotFound on its first container, the vanished pod is not asked about again.
    assert sum(1 for c in logs_calls if "basic-tidb-1" in c) == 1


def test_all_pods_present_exits_zero(kube):
    pods = json.loads((kube["rec"] / "get-pods.json").read_text())
    pods["items"] = [p for p in pods["items"] if p["metadata"]["name"] != "basic-tidb-1"]
    (kube["rec"] / "get-pods.json").write_text(json.dumps(pods))
    proc = run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "collected 8 file(s) from 4 pod(s)" in proc.stdout
    assert json.loads((kube["out"] / "manifest.json").read_text())["errors"] == []


def test_missing_previous_log_is_partial_but_keeps_the_rest(kube):
    (kube["rec"] / "logs" / "basic-tikv-0" / "tikv.previous.log").unlink()
    proc = run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    assert proc.returncode == 1
    assert 'previous terminated container "tikv" in pod "basic-tikv-0" not found' in proc.stdout
    assert (kube["out"] / "basic-tikv-0" / "tikv.log").exists()
    assert not (kube["out"] / "basic-tikv-0" / "tikv.previous.log").exists()
    manifest = json.loads((kube["out"] / "manifest.json").read_text())
    assert {p["name"]: p["status"] for p in manifest["pods"]}["basic-tikv-0"] == "partial"


def test_context_and_selector_are_passed_to_kubectl(kube):
    run_cli(
        kube["env"], "collect", "--namespace", "tidb-cluster", "--context", "kind-chaos",
        "--selector", "app.kubernetes.io/component=tikv", "--since", "12h", "--out", str(kube["out"]),
    )
    calls = calls_of(kube)
    assert all(c[:2] == ["--context", "kind-chaos"] for c in calls)
    get = next(c for c in calls if "get" in c)
    assert get[2:] == ["get", "pods", "-n", "tidb-cluster", "-l", "app.kubernetes.io/component=tikv", "-o", "json"]
    assert all("--since=12h" in c for c in calls if "logs" in c)


def test_unreachable_cluster_gives_kubectls_reason_and_exit_4(kube):
    kube["env"]["FAKE_KUBECTL_UNREACHABLE"] = "1"
    proc = run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    assert proc.returncode == 4
    assert proc.stderr.strip() == (
        "sitegen: error: cannot list pods in namespace 'tidb-cluster' with the current kubectl context: "
        "The connection to the server localhost:8080 was refused - did you specify the right host or port?"
    )
    manifest = json.loads((kube["out"] / "manifest.json").read_text())
    assert manifest["outcome"] == "unreachable" and manifest["pods"] == []
    assert "localhost:8080 was refused" in manifest["errors"][0]
    assert not list(kube["out"].rglob("*.log"))


def test_missing_kubectl_exits_3_with_a_clear_message(kube, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    kube["env"]["PATH"] = str(empty)  # not even the real /usr/bin/kubectl
    proc = run_cli(kube["env"], "collect", "--namespace", "tidb-cluster", "--out", str(kube["out"]))
    assert proc.returncode == 3
    assert proc.stderr.strip() == (
        "sitegen: error: kubectl was not found on PATH; install kubectl (the Kubernetes command-line tool) "
        "or add the folder holding it to PATH"
    )
    assert "Traceback" not in proc.stderr
    assert not kube["out"].exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "Tidb_Cluster"], "--namespace 'Tidb_Cluster': not a Kubernetes namespace name"),
        (["--namespace", "tidb-cluster", "--since", "yesterday"], "--since 'yesterday': expected a duration such as 24h"),
    ],
)
def test_bad_arguments_exit_2_and_run_nothing(kube, args, message):
    proc = run_cli(kube["env"], "collect", *args, "--out", str(kube["out"]))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not kube["calls"].exists()
    assert not kube["out"].exists()
