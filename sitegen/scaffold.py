"""`sitegen init`: lay out a new reports project, as `mkdocs new` does.

Writes a sitegen.yml listing every key commented with its default, an empty reports folder, a
.gitignore for what builds produce, and a GitHub Actions workflow that builds the site and publishes
it with GitHub Pages' own upload and deploy actions. Never overwrites: every existing file is named
and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen import __version__
from sitegen.config import DEFAULT_CONFIG_NAME, SCHEMA, Key, Section
from sitegen.errors import UsageError

REPORTS_KEEP = "reports/.gitkeep"
WORKFLOW = ".github/workflows/sitegen-pages.yml"

GITIGNORE = """\
# Written by `sitegen build` / `sitegen nightly`; rebuilt from reports/ at any time.
/public/
/.sitegen-cache/
/.sitegen-nightly.lock
/nightly.log
"""

# Pages' official actions: upload-pages-artifact packs public/, deploy-pages publishes it.
WORKFLOW_TEXT = f"""\
# Build the reports site and publish it on GitHub Pages
# (repository Settings > Pages > Source: GitHub Actions).
name: Publish reports

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      # sitegen is not published on a package index, and a package of that name there is another project:
      # install the wheel kept in tools/ (copy it there from `make wheel`'s dist/ folder).
      - name: Install sitegen from tools/
        run: |
          set -- tools/sitegen-*.whl
          if [ ! -f "$1" ]; then
            echo "::error::no sitegen wheel in tools/: copy sitegen-{__version__}-py3-none-any.whl there and commit it"
            exit 1
          fi
          if [ "$#" -gt 1 ]; then
            echo "::error::several sitegen wheels in tools/ ($*): keep the one to use"
            exit 1
          fi
          python -m pip install "$1"
      - run: sitegen build
      - uses: actions/upload-pages-artifact@v3
        with:
          path: public

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


@dataclass(frozen=True)
class Scaffold:
    """What init wrote, relative to the project folder."""

    root: Path
    written: tuple[str, ...]


def _yaml_value(value: Any) -> list[str]:
    """A default as YAML: one inline scalar, or indented block lines for lists and mappings."""
    import yaml

    if isinstance(value, dict | list) and value:
        return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True).splitlines()
    return [yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).splitlines()[0].removesuffix(" ...")]


def _key_lines(section: Section, indent: str) -> list[str]:
    lines: list[str] = []
    for name, spec in section.keys.items():
        if isinstance(spec, Section):
            lines += ["#", f"# {indent}{name}:  # {spec.doc}", *_key_lines(spec, indent + "  ")]
            continue
        assert isinstance(spec, Key)
        value = _yaml_value(spec.default)
        if not isinstance(spec.default, dict | list) or not spec.default:
            lines.append(f"# {indent}{name}: {value[0]}  # {spec.doc}")
        else:
            lines.append(f"# {indent}{name}:  # {spec.doc}")
            lines += [f"# {indent}  {line}" for line in value]
    return lines


def config_text() -> str:
    """sitegen.yml with every key commented out at its default; removing each line's `# ` gives the defaults."""
    head = [
        f"# sitegen {__version__} configuration. Every key is shown with its default, commented out:",
        "# uncomment a key (and its section line) to change it. `sitegen config` lists the keys,",
        "# `sitegen config --check` validates this file.",
    ]
    return "\n".join([*head, *_key_lines(SCHEMA, "")]) + "\n"


def files() -> dict[str, str]:
    """Relative path -> text of every file init writes."""
    return {
        DEFAULT_CONFIG_NAME: config_text(),
        REPORTS_KEEP: "",
        ".gitignore": GITIGNORE,
        WORKFLOW: WORKFLOW_TEXT,
    }


def init_project(root: Path) -> Scaffold:
    """Write the scaffold into `root` (created when missing); refuses, naming every existing file."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    wanted = files()
    existing = [rel for rel in wanted if (root / rel).exists() or (root / rel).is_symlink()]
    if existing:
        raise UsageError(f"not overwriting existing file(s) in {root}: {', '.join(existing)}; nothing was written")
    for rel, text in wanted.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": a file that appeared since the check above is still never overwritten.
        with target.open("x", encoding="utf-8") as fh:
            fh.write(text)
    return Scaffold(root, tuple(wanted))
