"""`sitegen init` lays out a project that builds at once, and never overwrites a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from sitegen.config import describe, parse_config
from sitegen.scaffold import WORKFLOW


def sitegen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_init_then_build_gives_a_site_and_a_new_night_gets_its_card(tmp_path, make_pdf):
    done = sitegen("init", "nightly-site", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "nightly-site"
    for rel in ("sitegen.yml", "reports", ".gitignore", WORKFLOW):
        assert (project / rel).exists(), rel
    assert "sitegen serve" in done.stdout

    built = sitegen("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert json.loads((project / "public" / "reports.json").read_text())["reports"] == []

    make_pdf(project / "reports" / "report-2021-07-09-bad.pdf", summary={"schema": 1, "date": "2021-07-09", "status": "bad"})
    assert sitegen("build", cwd=project).returncode == 0
    (night,) = json.loads((project / "public" / "reports.json").read_text())["reports"]
    assert (night["date"], night["status"]) == ("2021-07-09", "bad")
    assert "Traceback" not in built.stderr


def test_every_config_key_is_listed_and_uncommented_gives_the_defaults(tmp_path):
    assert sitegen("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "sitegen.yml").read_text()
    assert yaml.safe_load(text) is None  # everything is commented out: the file changes nothing
    uncommented = "\n".join(line[2:] if line.startswith("# ") else "" for line in text.splitlines()[3:])
    raw = yaml.safe_load(uncommented)
    assert parse_config(raw, tmp_path).values.as_dict() == parse_config({}, tmp_path).values.as_dict()
    for key, _default, _doc in describe():
        assert f" {key.rsplit('.', 1)[-1]}:" in text, key


def test_init_refuses_to_overwrite_and_names_the_file(tmp_path):
    (tmp_path / ".gitignore").write_text("mine\n")
    done = sitegen("init", cwd=tmp_path)
    assert done.returncode == 2
    assert ".gitignore" in done.stderr and "nothing was written" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / ".gitignore").read_text() == "mine\n"
    assert not (tmp_path / "sitegen.yml").exists()


def test_workflow_builds_and_deploys_with_the_official_pages_actions(tmp_path):
    assert sitegen("init", cwd=tmp_path).returncode == 0
    flow = yaml.safe_load((tmp_path / WORKFLOW).read_text())
    build_steps = flow["jobs"]["build"]["steps"]
    uses = [step.get("uses", "") for job in flow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    upload = next(s for s in build_steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "public"
    assert any(s.get("run") == "sitegen build" for s in build_steps)
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert flow["jobs"]["deploy"]["needs"] == "build"


def test_the_workflow_installs_the_wheel_in_tools_and_stops_clearly_without_one(tmp_path):
    """It used to `pip install sitegen==X` by name: an index's `sitegen` is another project."""
    assert sitegen("init", cwd=tmp_path).returncode == 0
    steps = yaml.safe_load((tmp_path / WORKFLOW).read_text())["jobs"]["build"]["steps"]
    (install,) = [s for s in steps if "pip install" in s.get("run", "")]
    assert "sitegen==" not in install["run"]
    # Run the step's script with a `python` that only records what it was asked to install.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text('#!/bin/sh\necho "$@" > "$PWD/installed"\n')
    (bin_dir / "python").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    missing = subprocess.run(["bash", "-c", install["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "no sitegen wheel in tools/" in missing.stdout
    assert not (tmp_path / "installed").exists()
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "sitegen-0.1.0-py3-none-any.whl").write_bytes(b"")
    done = subprocess.run(["bash", "-c", install["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "installed").read_text().split() == ["-m", "pip", "install", "tools/sitegen-0.1.0-py3-none-any.whl"]
    (tmp_path / "tools" / "sitegen-0.2.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "installed").unlink()
    two = subprocess.run(["bash", "-c", install["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert two.returncode == 1 and "several sitegen wheels in tools/" in two.stdout and not (tmp_path / "installed").exists()


def test_the_next_step_it_prints_can_be_pasted_into_a_shell(tmp_path):
    done = sitegen("init", "my proj", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cd 'my proj' && sitegen serve" in done.stdout
