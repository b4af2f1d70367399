"""The wheel is the product: built with `python -m build`, installed into a fresh venv outside the
repository (no node_modules, no checkout on sys.path), it builds and serves a site whose viewer
draws page 1, and writes a report for the bundled example night.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT
from tests.site.test_browser import PIXELS_ON_PAGE_1

pytestmark = [pytest.mark.slow]

EXAMPLE = ROOT / "examples" / "night-2021-07-09"


def run(*cmd: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> SimpleNamespace:
    """A wheel built from this checkout, installed with the locked dependencies into a venv in a temp folder."""
    home = tmp_path_factory.mktemp("wheel")
    # Nothing of the checkout may leak in: no PYTHONPATH, and every command runs inside `home`.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Node is needed only to vendor pdf.js into the checkout (make setup did); building, and building
    # the wheel again from the sdist, must not look for it: PATH holds nothing at all.
    (home / "empty-bin").mkdir()
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", home / "dist", ROOT, cwd=home,
                env={**env, "PATH": str(home / "empty-bin")})
    (wheel,) = (home / "dist").glob("sitegen-*.whl")
    run(sys.executable, "-m", "venv", home / "venv", cwd=home, env=env)
    pip = [home / "venv" / "bin" / "python", "-m", "pip", "install", "-q"]
    run(*pip, "--require-hashes", "-r", ROOT / "requirements.lock", cwd=home, env=env)
    run(*pip, "--no-deps", wheel, cwd=home, env=env)
    return SimpleNamespace(home=home, wheel=wheel, bin=home / "venv" / "bin", env=env, build_log=built.stdout + built.stderr)


def test_the_wheel_carries_the_theme_and_pdfjs_and_builds_without_warnings(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "sitegen/themes/default/templates/index.html" in names
    assert "sitegen/vendor/pdfjs/build/pdf.min.mjs" in names
    assert "sitegen/vendor/pdfjs/cmaps/UniGB-UCS2-H.bcmap" in names
    assert not [n for n in names if n.startswith(("tests/", "node_modules/")) or "__pycache__" in n]
    assert "SetuptoolsDeprecationWarning" not in installed.build_log
    assert "project.license" not in installed.build_log

    where = run(installed.bin / "python", "-c", "import sitegen; print(sitegen.__file__)", cwd=installed.home, env=installed.env)
    assert where.stdout.startswith(str(installed.home / "venv")), where.stdout
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/pdfjs-dist"]["version"]
    version = run(installed.bin / "sitegen", "--version", cwd=installed.home, env=installed.env)
    assert version.stdout.strip() == f"sitegen 0.1.0 (pdf.js {locked})"


@pytest.mark.browser
def test_the_installed_tool_builds_and_serves_a_site_whose_viewer_draws_page_one(installed, make_pdf, page):
    project = installed.home / "site"
    summary = {"schema": 1, "status": "bad", "headline": "TiKV store 4 panicked.", "metrics": {"errors": 7}}
    make_pdf(project / "reports" / "report-2021-07-09-bad.pdf", pages=["A bad night: TiKV store 4 panicked."],
             summary={**summary, "date": "2021-07-09"})
    make_pdf(project / "reports" / "report-2021-07-08-good.pdf", pages=["All recovered."],
             summary={**summary, "date": "2021-07-08", "status": "good", "headline": "All good."})
    run(installed.bin / "sitegen", "build", "--reports", "reports", "--output", "pub", cwd=project, env=installed.env)
    assert (project / "pub" / "static" / "pdfjs" / "build" / "pdf.min.mjs").is_file()

    server = subprocess.Popen(
        [installed.bin / "sitegen", "serve", "--reports", "reports", "--output", "pub", "--port", "0"],
        cwd=project, env=installed.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url, seen, deadline = None, "", time.monotonic() + 60
        while url is None and time.monotonic() < deadline and server.poll() is None:
            if select.select([server.stderr], [], [], 1)[0]:
                seen += server.stderr.readline()
                # The URL comes first; the site is there once the first build has been logged.
                found = re.search(r"serving .* at (http://127\.0\.0\.1:\d+/?)\n(?s:.*)\bbuilt in ", seen)
                url = found.group(1) if found else None
        assert url, f"sitegen serve from the wheel did not come up:\n{seen}"
        page.goto(url)
        page.locator('.card[data-status="bad"] a.card-link').click()
        page.wait_for_url("**/nights/2021-07-09.html")
        # A function, not an expression string: the site's CSP forbids the eval() Playwright uses for strings.
        page.wait_for_function(f"() => {{ const p = ({PIXELS_ON_PAGE_1})(); return p !== null && p.ink > 200; }}", timeout=30_000)
    finally:
        server.terminate()
        _, rest = server.communicate(timeout=20)
    assert "Traceback" not in seen + rest


def test_the_installed_tool_writes_a_report_for_the_example_night(installed):
    out = installed.home / "nightly"
    done = run(
        installed.bin / "sitegen", "report", "--night", "2021-07-09", "--suite", "tikv-failure", "--reports", out,
        "--logs", EXAMPLE / "logs", "--metrics", EXAMPLE / "sysbench.log", "--chaos", EXAMPLE / "schedule.yaml",
        cwd=installed.home, env=installed.env,
    )
    (pdf,) = (out / "tikv-failure").glob("report-2021-07-09-*.pdf")
    assert str(pdf) in done.stdout
    check = run(
        installed.bin / "python", "-c",
        "import json, sys; from pypdf import PdfReader; r = PdfReader(sys.argv[1]); "
        "print(json.dumps(json.loads(r.attachments['summary.json'][0])))",
        pdf, cwd=installed.home, env=installed.env,
    )
    summary = json.loads(check.stdout)
    assert (summary["date"], summary["suite"]) == ("2021-07-09", "tikv-failure")
    assert pdf.name == f"report-2021-07-09-{summary['status']}.pdf"
