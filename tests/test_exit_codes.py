"""One table of exit codes: the docs list exactly sitegen.errors.ExitCode, and the real CLI keeps to it."""

from __future__ import annotations

import fcntl
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sitegen
from sitegen import errors
from sitegen.cli import main
from sitegen.errors import ExitCode
from tests.nightly import fake_kubectl

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NIGHTLY_DOC = ROOT / "docs" / "nightly.md"
RECORDING = ROOT / "tests" / "nightly" / "data" / "kubectl"

_HEADER = re.compile(r"^\| code \| name \| meaning \|$")
_ROW = re.compile(r"^\| (?P<code>\d+) \| `(?P<name>[A-Z_]+)` \| (?P<meaning>.+) \|$")


def exit_code_tables(path: Path) -> list[list[tuple[int, str, str]]]:
    """Every `| code | name | meaning |` table of a markdown file, as (code, name, meaning) rows."""
    tables: list[list[tuple[int, str, str]]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not _HEADER.match(line):
            continue
        rows = []
        for row in lines[i + 2 :]:  # past the |---| line
            if not row.startswith("|"):
                break
            match = _ROW.match(row)
            assert match, f"{path.name}: not a `| code | `NAME` | meaning |` row: {row}"
            rows.append((int(match["code"]), match["name"], match["meaning"]))
        tables.append(rows)
    return tables


# --- the documentation is the enum -----------------------------------------------------------


def test_the_readme_table_lists_every_member_once_in_order():
    (table,) = exit_code_tables(README)
    assert [(code, name) for code, name, _ in table] == [(m.value, m.name) for m in ExitCode]


@pytest.mark.parametrize("path", [README, NIGHTLY_DOC], ids=lambda p: p.name)
def test_every_documented_code_is_the_member_of_that_name(path):
    tables = exit_code_tables(path)
    assert tables, f"{path.name} has no exit-code table"
    for table in tables:
        for code, name, meaning in table:
            assert name in ExitCode.__members__, f"{path.name}: {name} is not an ExitCode"
            assert ExitCode[name] == code, f"{path.name}: {name} is {ExitCode[name].value}, not {code}"
            assert meaning.strip()
        codes = [code for code, _, _ in table]
        assert codes == sorted(set(codes)), f"{path.name}: codes repeated or out of order"


def test_nightly_doc_has_a_table_for_nightly_and_for_collect():
    nightly, collect = exit_code_tables(NIGHTLY_DOC)
    assert {name for _, name, _ in nightly} == {m.name for m in ExitCode} - {"INTERNAL", "INTERRUPTED"}
    assert {name for _, name, _ in collect} == {"OK", "PARTIAL", "USAGE", "MISSING_TOOL", "NO_CLUSTER", "IO_ERROR"}


@pytest.mark.parametrize("path", [README, NIGHTLY_DOC], ids=lambda p: p.name)
def test_exit_codes_named_in_prose_exist(path):
    text = path.read_text(encoding="utf-8")
    mentioned = {int(n) for n in re.findall(r"\bexit(?:s| code| status)? (\d+)\b", text)}
    mentioned |= {int(n) for n in re.findall(r"SuccessExitStatus=(\d+)", text)}
    assert mentioned <= {m.value for m in ExitCode}


def test_every_error_class_carries_a_member_of_the_table():
    for info in pkgutil.walk_packages(sitegen.__path__, "sitegen."):
        if not info.name.endswith(".__main__"):  # importing it would run the CLI
            importlib.import_module(info.name)
    seen = []
    pending = [errors.SitegenError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        assert type(cls.exit_code) is ExitCode, f"{cls.__qualname__}.exit_code is {cls.exit_code!r}"
        pending.extend(cls.__subclasses__())
    assert {errors.NoClusterError, errors.LockHeldError} <= set(seen)


# --- the command line keeps to it --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "code", "stderr"),
    [
        (
            PermissionError(13, "Permission denied", "/srv/public/index.html"),
            ExitCode.IO_ERROR,
            "sitegen: error: /srv/public/index.html: Permission denied",
        ),
        (OSError(28, "No space left on device"), ExitCode.IO_ERROR, "sitegen: error: No space left on device"),
        (
            OSError(18, "Invalid cross-device link", "a.tmp", None, "b"),
            ExitCode.IO_ERROR,
            "sitegen: error: a.tmp -> b: Invalid cross-device link",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "evil\nsitegen: forged"),
            ExitCode.IO_ERROR,
            "sitegen: error: evil\\nsitegen: forged: No such file or directory",
        ),
        (errors.NoClusterError("cannot list pods"), ExitCode.NO_CLUSTER, "sitegen: error: cannot list pods"),
        (errors.LockHeldError("lock held"), ExitCode.LOCKED, "sitegen: error: lock held"),
        (errors.ReportError("cannot write x.pdf"), ExitCode.FAILED, "sitegen: error: cannot write x.pdf"),
        (errors.BuildError("bad template"), ExitCode.FAILED, "sitegen: error: bad template"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "sitegen: interrupted"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_main_turns_each_error_into_its_code_and_one_line(monkeypatch, capsys, raised, code, stderr):
    import sitegen.config

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(sitegen.config, "describe", fail)
    assert main(["-v", "config"]) == code  # even -v shows no traceback for these
    err = capsys.readouterr().err
    assert err == stderr + "\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment for `python -m sitegen` with a recorded kubectl first on PATH."""
    return fake_kubectl.environment(tmp_path)


def sitegen_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_file_where_the_output_folder_should_be_exits_74_naming_the_path(env, tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n")
    out = tmp_path / "a-file" / "logs"
    proc = sitegen_cli(env, tmp_path, "collect", "--namespace", "tidb-cluster", "--out", str(out))
    assert proc.returncode == ExitCode.IO_ERROR == 74
    assert proc.stderr == f"sitegen: error: {out}: Not a directory\n"


def test_nightly_logs_an_os_error_then_exits_74(env, tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "sitegen.yml").write_text("nightly:\n  namespace: tidb-cluster\n  logs_dir: a-file\n")
    proc = sitegen_cli(env, tmp_path, "-q", "nightly", "--config", "sitegen.yml", "--night", "2021-07-09")
    assert proc.returncode == ExitCode.IO_ERROR
    assert proc.stderr == f"sitegen: error: {tmp_path / 'a-file' / '2021-07-09'}: Not a directory\n"
    log = (tmp_path / "nightly.log").read_text()
    assert f"ERROR sitegen.nightly.run: nightly: stopped: {tmp_path / 'a-file' / '2021-07-09'}: Not a directory" in log


def test_collect_from_an_unreachable_cluster_exits_4(env, tmp_path):
    env["FAKE_KUBECTL_UNREACHABLE"] = "1"
    proc = sitegen_cli(env, tmp_path, "collect", "--namespace", "tidb-cluster", "--out", "logs")
    assert proc.returncode == ExitCode.NO_CLUSTER == 4
    assert proc.stderr == (
        "sitegen: error: cannot list pods in namespace 'tidb-cluster' with the current kubectl context: "
        "The connection to the server localhost:8080 was refused - did you specify the right host or port?\n"
    )


def test_nightly_while_another_holds_the_lock_exits_5_and_does_nothing(env, tmp_path):
    (tmp_path / "sitegen.yml").write_text("nightly:\n  namespace: tidb-cluster\n")
    lock = tmp_path / ".sitegen-nightly.lock"
    with open(lock, "w", encoding="utf-8") as held:
        held.write("pid 4242 since 2021-07-09T06:10:00+00:00\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = sitegen_cli(env, tmp_path, "nightly", "--config", "sitegen.yml", "--night", "2021-07-09")
    assert proc.returncode == ExitCode.LOCKED == 5
    message = f"another nightly run holds the lock file {lock} (pid 4242 since 2021-07-09T06:10:00+00:00); not starting a second one"
    assert proc.stderr.splitlines()[-1] == f"sitegen: error: {message}"
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "calls.jsonl").exists()  # kubectl was never asked
    assert f"nightly: stopped: {message}" in (tmp_path / "nightly.log").read_text()
