"""Vendor pdf.js into the package before setuptools collects its files; all metadata is in pyproject.toml."""

import runpy
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
# Runs for sdist, wheel and editable builds alike: a no-op when the vendored copy matches the lock.
runpy.run_path(str(HERE / "scripts" / "vendor_pdfjs.py"))["ensure_vendored"](HERE)
setup()
