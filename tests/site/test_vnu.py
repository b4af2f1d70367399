"""The Nu HTML checker (vnu-jar, pinned in package-lock.json, run with Java) finds no error in a built site."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT
from tests.site.search_site import build_search_site

pytestmark = pytest.mark.slow

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.fixture(scope="module")
def vnu() -> list[str]:
    java = shutil.which("java")
    for missing, why in ((not VNU.is_file(), f"{VNU} is missing: run `make setup` (npm ci installs the locked vnu-jar)"),
                         (java is None, "java is missing: run scripts/system-deps as root (default-jre-headless)")):
        if missing:
            if IN_CI:
                pytest.fail(why)
            pytest.skip(why)
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/vnu-jar"]["version"]
    installed = json.loads((VNU.parents[2] / "package.json").read_text())["version"]
    assert installed == locked, f"node_modules holds vnu-jar {installed}, the lock pins {locked}: run `make setup`"
    return [str(java), "-Xss8m", "-jar", str(VNU)]


def test_every_kind_of_page_is_valid_html(tmp_path, vnu):
    site = build_search_site(tmp_path)
    pages = sorted(site.rglob("*.html"))
    kinds = {p.relative_to(site).parts[0] if len(p.relative_to(site).parts) > 1 else p.name for p in pages}
    # Index, compare, night pages, month archives, the no-JS list and the suite pages are all checked.
    assert {"index.html", "compare.html", "nights", "archive", "page"} <= kinds, kinds
    done = subprocess.run(
        [*vnu, "--errors-only", "--format", "json", *map(str, pages)], capture_output=True, text=True, timeout=600
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m.get('message', '')}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    assert errors == [], "\n".join(errors[:30])
    assert done.returncode == 0
