"""Text read from PDFs and file names is cleaned once, where it enters: the site's HTML, JSON and XML never carry it raw."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.config import parse_config
from sitegen.model import clean_text
from sitegen.site import layout
from sitegen.site.build import build_site

BASE_URL = "https://chaos.example.org/"
# As found in a public PDF test corpus: the /Title ends in NUL.
NUL_TITLE = "imagemagick-lzw\x00"
CONTROL_SUBJECT = "controls:" + "".join(map(chr, range(1, 0x20))) + "\x85end"
# Bytes no site file may hold: C0 controls other than tab, LF and CR.
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Characters no site file may hold once decoded: the rest of C0/C1, the bidi overrides and U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def build(root: Path, **raw):
    return build_site(parse_config({"base_url": BASE_URL, **raw}, root))


def assert_clean(data: bytes, what: str) -> str:
    assert _RAW_CONTROL.search(data) is None, f"{what} holds a raw control byte"
    text = data.decode("utf-8")  # strict: a lone surrogate could not have been encoded
    assert _UNSAFE.search(text) is None, f"{what} holds a control character"
    return text


def site_files(root: Path, result) -> dict[str, bytes]:
    """index.html, every viewer page, reports.json and feed.xml of a build."""
    out = root / "public"
    names = ["index.html", "reports.json", "feed.xml", *layout.page_paths(result.reports).values()]
    return {name: (out / name).read_bytes() for name in names}


@pytest.mark.parametrize(
    ("raw", "keep_newlines", "expected"),
    [
        ("imagemagick-lzw\x00", False, "imagemagick-lzw\ufffd"),
        ("a\x01b\x1fc\x7fd\x85e\x9ff", False, "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"),
        ("tab\tstays", False, "tab\tstays"),
        ("one\r\ntwo\rthree\nfour", False, "one two three four"),
        ("one\r\ntwo\rthree\nfour", True, "one\ntwo\nthree\nfour"),
        ("lone \ud800 and \udfff", False, "lone \ufffd and \ufffd"),
        ("xml \ufffe\uffff", False, "xml \ufffd\ufffd"),
        ("kept: é 调度 \U0001f600 \u00a0 \ufffd", False, "kept: é 调度 \U0001f600 \u00a0 \ufffd"),
        # Bidi embeddings, overrides and isolates turn the text after them around; the marks stay (right-to-left text).
        ("a\u202etxt.exe \u2066x\u2069 \u202a\u202b\u202c\u202d\u2067\u2068", False, "a\ufffdtxt.exe \ufffdx\ufffd " + "\ufffd" * 6),
        ("שלום\u200f \u200e \u061c", False, "שלום\u200f \u200e \u061c"),
    ],
)
def test_clean_text_replaces_what_no_format_takes_and_keeps_the_rest(raw, keep_newlines, expected):
    assert clean_text(raw, keep_newlines=keep_newlines) == expected
    assert clean_text(expected, keep_newlines=keep_newlines) == expected  # cleaning twice changes nothing


def test_control_characters_in_pdf_metadata_never_reach_the_site(tmp_path, make_pdf):
    pdf = make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", title=NUL_TITLE, subject=CONTROL_SUBJECT)
    meta = PdfReader(str(pdf)).metadata
    # The PDF really carries them. pypdf leaves the title as bytes (NUL is not PDFDocEncoding), whose
    # str() reads them as UTF-16: CJK mojibake unless extraction decodes them itself.
    assert bytes(meta["/Title"]) == NUL_TITLE.encode("latin-1") and meta["/Subject"] == CONTROL_SUBJECT

    result = build(tmp_path)

    texts = {name: assert_clean(data, name) for name, data in site_files(tmp_path, result).items()}
    (report,) = result.reports
    assert report.title == "imagemagick-lzw\ufffd"  # still readable, and visibly not the whole story
    assert report.summary.startswith("controls:\ufffd") and report.summary.endswith("\ufffdend")
    entry = json.loads(texts["reports.json"])["reports"][0]
    assert (entry["title"], entry["summary"]) == (report.title, report.summary)
    for name in ("index.html", layout.page_paths(result.reports)[report.source]):
        assert "imagemagick-lzw\ufffd" in texts[name] or "controls:\ufffd" in texts[name], name
    feed = ET.fromstring(texts["feed.xml"])
    summary = feed.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}summary")
    assert summary is not None and summary.text == report.summary


def test_summary_json_strings_are_cleaned_at_any_depth(tmp_path, make_pdf):
    summary = {
        "schema": 1,
        "date": "2021-07-09",
        "status": "bad",
        "title": "night\x0bly",
        "headline": "3 fatal\x07 errors\x1b[0m",
        "metrics": {"errors": 3, "p99\x00_ms": 12.5},
        "runner": {"host\x01": ["ci\x1f7", {"deep\x9f": "x\x00"}]},
    }
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", summary=summary)

    result = build(tmp_path)

    texts = {name: assert_clean(data, name) for name, data in site_files(tmp_path, result).items()}
    entry = json.loads(texts["reports.json"])["reports"][0]
    assert entry["title"] == "night\ufffdly"
    assert entry["summary"] == "3 fatal\ufffd errors\ufffd[0m"
    assert entry["metrics"] == {"errors": 3, "p99\ufffd_ms": 12.5}
    assert entry["extra"] == {"runner": {"host\ufffd": ["ci\ufffd7", {"deep\ufffd": "x\ufffd"}]}}
    ET.fromstring(texts["feed.xml"])
    assert "3 fatal\ufffd errors" in texts["index.html"]


def test_a_lone_surrogate_in_summary_json_shows_as_a_replacement(tmp_path, make_pdf):
    # The raw JSON escape: json.loads turns it into a str that UTF-8 cannot encode.
    payload = b'{"schema": 1, "date": "2021-07-09", "status": "bad", "title": "lzw \\ud800 night", "headline": "half \\udfff a pair"}'
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", raw_attachment=payload)

    result = build(tmp_path)

    texts = {name: assert_clean(data, name) for name, data in site_files(tmp_path, result).items()}
    entry = json.loads(texts["reports.json"])["reports"][0]
    assert (entry["title"], entry["summary"], entry["summary_source"]) == ("lzw \ufffd night", "half \ufffd a pair", "attachment")
    assert "lzw \ufffd night" in texts["index.html"]
    ET.fromstring(texts["feed.xml"])


def test_a_lone_surrogate_in_summary_json_does_not_fail_the_cli(tmp_path, make_pdf, monkeypatch, capsys):
    from sitegen.cli import main

    payload = b'{"schema": 1, "date": "2021-07-09", "status": "bad", "title": "\\ud800"}'
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", raw_attachment=payload)
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--reports", "reports", "--output", "public"]) == 0
    capsys.readouterr()


def pdf_with_raw_page_text(path: Path, content: bytes) -> Path:
    """A one-page PDF whose content stream is `content` with Helvetica as /F1 (fpdf2 drops control characters itself)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(content)
    page.replace_contents(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write(str(path))
    return path


def test_control_characters_in_page_text_are_replaced(tmp_path):
    pdf = pdf_with_raw_page_text(
        tmp_path / "reports" / "report-2021-07-09-bad.pdf", b"BT /F1 12 Tf 72 720 Td (page\\000one\\007said\\033this) Tj ET"
    )
    assert PdfReader(str(pdf)).pages[0].extract_text() == "page\x00one\x07said\x1bthis"  # what pypdf hands over

    result = build(tmp_path)

    texts = {name: assert_clean(data, name) for name, data in site_files(tmp_path, result).items()}
    (report,) = result.reports
    assert (report.summary_source, report.summary) == ("text", "page\ufffdone\ufffdsaid\ufffdthis")
    assert json.loads(texts["reports.json"])["reports"][0]["summary"] == report.summary


def test_a_suite_folder_name_is_shown_cleaned_and_its_pdf_still_published(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "night\x01ly" / "report-2021-07-09-bad.pdf", title="t")

    result = build(tmp_path)

    texts = {name: assert_clean(data, name) for name, data in site_files(tmp_path, result).items()}
    (report,) = result.reports
    assert (report.suite, report.source) == ("night\ufffdly", "night\ufffdly/report-2021-07-09-bad.pdf")
    entry = json.loads(texts["reports.json"])["reports"][0]
    assert entry["suite"] == "night\ufffdly"
    assert (tmp_path / "public" / entry["pdf_url"]).read_bytes().startswith(b"%PDF-")
    assert "night\ufffdly" in texts["index.html"]


def test_names_equal_once_cleaned_keep_one_card_and_warn(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "a\x01" / "report-2021-07-09-bad.pdf", title="first")
    make_pdf(tmp_path / "reports" / "a\x02" / "report-2021-07-09-bad.pdf", title="second")

    result = build(tmp_path)

    assert [r.source for r in result.reports] == ["a\ufffd/report-2021-07-09-bad.pdf"]
    assert any("shown as a\ufffd/report-2021-07-09-bad.pdf" in w and "skipped" in w for w in result.warnings)
    assert all(_UNSAFE.search(w) is None for w in result.warnings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"imagemagick-lzw\x00", "imagemagick-lzw\ufffd"),  # even length: str() would say CJK
        (b"odd-lzw\x00", "odd-lzw\ufffd"),  # odd length: str() would keep the NUL
        (b"\x80 list\x7f", "\u2022 list\ufffd"),  # PDFDocEncoding where it defines the byte
        (b"\xfe\xff\x00a\x00\x00\x00", "a\ufffd\ufffd"),  # UTF-16BE with a cut last unit
    ],
)
def test_metadata_pypdf_leaves_as_bytes_is_read_as_the_pdf_spec_says(raw, expected):
    from pypdf.generic import ByteStringObject

    from sitegen.site.extract import _text

    assert _text(ByteStringObject(raw)) == expected


def test_a_bidi_override_in_a_suite_name_or_title_never_reaches_the_site(tmp_path, make_pdf):
    """`\u202e` in a folder name would show `2023-02-01 · txt.exe` for `exe.txt` in every page title and link."""
    summary = {"schema": 1, "date": "2023-02-01", "status": "good", "signatures": [{"key": "k\u202e1", "level": "error"}]}
    make_pdf(tmp_path / "reports" / "exe\u202etxt" / "report-2023-02-01-good.pdf", title="night \u2066turned\u2069 around",
             summary=summary)

    result = build(tmp_path)

    for name, data in site_files(tmp_path, result).items():
        assert_clean(data, name)
    (report,) = result.reports
    assert (report.suite, report.title) == ("exe\ufffdtxt", "night \ufffdturned\ufffd around")
    assert [s.key for s in report.signatures] == ["k\ufffd1"]  # reports.json and the search index carry the key
