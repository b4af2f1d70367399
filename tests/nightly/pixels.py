"""Render PDF pages with poppler (pdftoppm/pdftotext) for tests that look at what a reader would see."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import IN_CI


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} is missing: install poppler-utils")
        pytest.skip(f"{tool} is not installed (sudo apt-get install -y poppler-utils)")
    return path


def pdf_text(pdf: Path) -> str:
    """The PDF's text as pdftotext lays it out."""
    out = subprocess.run([need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def page_rgb(pdf: Path, page: int, dpi: int = 60) -> tuple[int, int, list[tuple[int, int, int]]]:
    """One page as (width, height, pixels) from pdftoppm's binary PPM output."""
    out = subprocess.run(
        [need("pdftoppm"), "-r", str(dpi), "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, check=True
    ).stdout
    # P6 header: magic, width, height, maxval, each followed by whitespace.
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while out[pos : pos + 1].isspace():
            pos += 1
        start = pos
        while not out[pos : pos + 1].isspace():
            pos += 1
        fields.append(out[start:pos])
    pos += 1
    width, height = int(fields[1]), int(fields[2])
    data = out[pos : pos + width * height * 3]
    pixels = [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]
    return width, height, pixels


def share(pixels: list[tuple[int, int, int]], test) -> float:
    """The fraction of pixels for which `test(r, g, b)` holds."""
    counts = Counter(pixels)
    return sum(n for rgb, n in counts.items() if test(*rgb)) / max(1, len(pixels))
