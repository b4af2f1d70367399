"""Makes real PDFs with fpdf2 for the tests, instead of committing binary fixtures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fpdf import FPDF

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(
    path: Path,
    *,
    pages: list[str] | None = None,
    title: str | None = None,
    subject: str | None = None,
    summary: dict[str, Any] | None = None,
    attachment_name: str = "summary.json",
    raw_attachment: bytes | None = None,
    password: str | None = None,
    owner_password: str | None = None,
) -> Path:
    """Write a PDF with the given page texts, metadata and optional summary.json attachment.

    `raw_attachment` stores bytes as the attachment verbatim (for broken-JSON cases).
    `owner_password` encrypts with an empty user password: anyone may open it, as with many real PDFs.
    """
    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2021, 7, 9, 6, 0, tzinfo=dt.UTC))
    if DEJAVU.exists():
        pdf.add_font("DejaVu", fname=str(DEJAVU))
        pdf.set_font("DejaVu", size=14)
    else:  # core font: Latin-1 only, enough for plain ASCII tests
        pdf.set_font("Helvetica", size=14)
    if title is not None:
        pdf.set_title(title)
    if subject is not None:
        pdf.set_subject(subject)
    for text in pages or ["Nightly chaos report"]:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    payload = raw_attachment
    if payload is None and summary is not None:
        payload = json.dumps(summary).encode()
    if payload is not None:
        pdf.embed_file(bytes=payload, basename=attachment_name, mime_type="application/json")
    if password is not None:
        pdf.set_encryption(owner_password=password, user_password=password)
    elif owner_password is not None:
        pdf.set_encryption(owner_password=owner_password)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
