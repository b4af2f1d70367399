"""docs/hosting.md's nginx server block, run by Debian's real nginx: types, cache headers, ranges, and a red night in Chromium.

The block is taken from the doc itself, so the doc is what is proven; only `listen`, `root` and
`alias` are pointed at a free port on 127.0.0.1 and a site built by the real pipeline.
"""

from __future__ import annotations

import gzip
import http.client
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.site.build import build_site
from tests.conftest import IN_CI, ROOT
from tests.pdf_factory import make_pdf
from tests.site.test_browser import PIXELS_ON_PAGE_1

NGINX = "/usr/sbin/nginx"
HOSTING = ROOT / "docs" / "hosting.md"
MARKER = "Pterodactylus"  # an unusual word on page 1 of the red night
BAD_PAGE = "nights/cluster-a/2021-07-09.html"
BAD_PDF = "pdf/cluster-a/report-2021-07-09-bad.pdf"


def nginx_blocks() -> list[str]:
    """The ```nginx code blocks of docs/hosting.md, in order."""
    return re.findall(r"^```nginx\n(.*?)^```$", HOSTING.read_text(), flags=re.S | re.M)


def swap(text: str, old: str, new: str) -> str:
    """Replace a line the doc must hold exactly once, so a doc edit that drifts from the test fails loudly."""
    assert text.count(old) == 1, f"docs/hosting.md's nginx block should hold {old!r} once"
    return text.replace(old, new)


def server_config(site: Path, port: int) -> str:
    """The doc's server block, pointed at `site` and 127.0.0.1:`port`, with the doc's sub-path block inside it."""
    server, sub_path = (b for b in nginx_blocks() if b.startswith(("server {", "location ^~ /chaos/")))
    server = swap(server, "    listen 80;\n", f"    listen 127.0.0.1:{port};\n")
    server = swap(server, "    root /srv/sitegen/public;\n", f"    root {site};\n")
    sub_path = swap(sub_path, "    alias /srv/sitegen/public/;\n", f"    alias {site}/;\n")
    assert server.endswith("}\n")
    return server[:-2] + "\n" + sub_path.replace("\n", "\n    ") + "\n}\n"


def nginx_conf(prefix: Path, server: str) -> str:
    """A whole nginx.conf around the server block; every path the server writes is under `prefix`."""
    # As root, nginx's workers would switch to `nobody`, who cannot read pytest's private temp folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log {prefix}/access.log;\n    sendfile on;\n{temp}{server}}}\n"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A site built by the real pipeline: a red night (two pages) and a green one."""
    root = tmp_path_factory.mktemp("nginx-site")
    reports = root / "reports" / "cluster-a"
    summary = {"schema": 1, "title": "Chaos night", "metrics": {"errors": 7}}
    make_pdf(
        reports / "report-2021-07-09-bad.pdf",
        pages=[f"TiKV store 4 panicked. Marker word: {MARKER}.", "Second page of the bad night."],
        summary={**summary, "date": "2021-07-09", "status": "bad", "headline": "TiKV store 4 panicked."},
    )
    make_pdf(
        reports / "report-2021-07-08-good.pdf",
        pages=["All experiments recovered."],
        summary={**summary, "date": "2021-07-08", "status": "good", "headline": "All good."},
    )
    build_site(parse_config({"reports": "reports", "output": "public", "cache_dir": "cache", "title": "nginx test"}, root))
    return root / "public"


@pytest.fixture(scope="module")
def nginx(site, tmp_path_factory) -> Iterator[str]:
    """Debian's nginx serving `site` with the doc's config on a free port; yields its base URL (ending in /)."""
    if not os.access(NGINX, os.X_OK):
        if IN_CI:
            pytest.fail("nginx is missing: run scripts/system-deps as root")
        pytest.skip("nginx is not installed (sudo apt-get install -y nginx)")
    prefix = tmp_path_factory.mktemp("nginx")
    for attempt in range(3):  # the free port can be taken between finding it and nginx binding it
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_conf(prefix, server_config(site, port)))
        checked = subprocess.run([NGINX, "-t", "-q", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                 capture_output=True, text=True)  # fmt: skip
        assert checked.returncode == 0, f"nginx rejects the doc's config:\n{checked.stderr}\n{conf.read_text()}"
        log = (prefix / "nginx.out").open("w")
        proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.02)
        if proc.poll() is None:
            break
        log.close()
        if attempt == 2 or "Address already in use" not in (prefix / "error.log").read_text():
            pytest.fail("nginx did not start:\n" + (prefix / "error.log").read_text()[-2000:])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful stop of the master we started, which stops its worker
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def get(base: str, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request; returns status, headers (lower-case names) and the body."""
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, "/" + path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_the_doc_block_is_the_one_that_runs():
    server = server_config(Path("/site"), 1234)
    assert "listen 127.0.0.1:1234;" in server and "root /site;" in server and "alias /site/;" in server
    assert "text/javascript mjs;" in server and "include /etc/nginx/mime.types;" in server


def test_pdfjs_modules_are_javascript_cached_for_an_hour_and_compressed(nginx, site):
    modules = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.mjs"))
    pdfjs = {"static/pdfjs/build/pdf.min.mjs", "static/pdfjs/build/pdf.worker.min.mjs", "static/pdfjs/web/pdf_viewer.mjs"}
    assert pdfjs <= set(modules)
    for path in modules:
        status, headers, body = get(nginx, path)
        assert status == 200 and body == (site / path).read_bytes(), path
        assert headers["content-type"] == "text/javascript", path
        assert headers["cache-control"] == "public, max-age=3600", path
        assert headers["x-content-type-options"] == "nosniff", path
    status, headers, body = get(nginx, "static/pdfjs/build/pdf.min.mjs", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (site / "static/pdfjs/build/pdf.min.mjs").read_bytes()


def test_pages_and_catalog_are_revalidated_every_time(nginx, site):
    for path, kind in (("", "text/html"), ("index.html", "text/html"), (BAD_PAGE, "text/html"), ("reports.json", "application/json")):
        status, headers, _ = get(nginx, path)
        assert status == 200 and headers["content-type"].split(";")[0] == kind, path
        assert headers["cache-control"] == "no-cache", path
        assert headers["x-content-type-options"] == "nosniff"
        assert get(nginx, path, {"If-None-Match": headers["etag"]})[0] == 304, path


def test_pdfs_answer_ranges_and_are_revalidated(nginx, site):
    data = (site / BAD_PDF).read_bytes()
    status, headers, body = get(nginx, BAD_PDF)
    assert status == 200 and body == data
    assert headers["content-type"] == "application/pdf" and headers["accept-ranges"] == "bytes"
    assert headers["cache-control"] == "no-cache" and headers["x-content-type-options"] == "nosniff"
    assert get(nginx, BAD_PDF, {"If-None-Match": headers["etag"]})[0] == 304
    # What pdf.js asks for a big PDF: pieces, with gzip accepted; PDFs are never compressed, so ranges stay.
    for asked, start, end in (("bytes=0-99", 0, 99), ("bytes=100-", 100, len(data) - 1), ("bytes=-20", len(data) - 20, len(data) - 1)):
        status, headers, body = get(nginx, BAD_PDF, {"Range": asked, "Accept-Encoding": "gzip"})
        assert status == 206, asked
        assert headers["content-range"] == f"bytes {start}-{end}/{len(data)}", asked
        assert body == data[start : end + 1] and "content-encoding" not in headers, asked
    assert get(nginx, BAD_PDF, {"Range": f"bytes={len(data)}-"})[0] == 416


def test_the_sub_path_block_serves_the_same_site_with_the_types(nginx, site):
    status, headers, body = get(nginx, "chaos/")
    assert status == 200 and body == (site / "index.html").read_bytes()
    status, headers, _ = get(nginx, "chaos/static/pdfjs/build/pdf.min.mjs")
    assert status == 200 and headers["content-type"] == "text/javascript" and headers["x-content-type-options"] == "nosniff"
    status, headers, body = get(nginx, "chaos/" + BAD_PDF, {"Range": "bytes=0-4"})
    assert status == 206 and body == b"%PDF-"


def test_missing_files_are_404_with_nosniff(nginx):
    for path in ("nope.html", "nope", "static/nope.mjs", "pdf/../../etc/passwd"):
        status, headers, _ = get(nginx, path)
        assert status in (400, 404), path
        assert headers.get("x-content-type-options") == "nosniff" or status == 400, path


@pytest.mark.browser
def test_a_red_night_opened_through_nginx_draws_page_one(nginx, page):
    errors: list[str] = []
    mjs_types: dict[str, str] = {}
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: r.url.endswith(".mjs") and mjs_types.update({r.url: r.headers.get("content-type", "")}))
    page.goto(nginx)
    link = page.locator(f'a[href$="{BAD_PAGE}"]').first
    assert link.is_visible()
    link.click()
    page.wait_for_url("**/" + BAD_PAGE)
    # Polled from here: wait_for_function's string predicate is an eval, which the pages' CSP forbids.
    deadline = time.monotonic() + 20
    while (pixels := page.evaluate(PIXELS_ON_PAGE_1)) is None or pixels["ink"] <= 200:
        assert time.monotonic() < deadline, f"page 1 was not drawn: {pixels}, errors {errors}"
        page.wait_for_timeout(100)
    assert pixels["paper"] > pixels["total"] / 2, pixels  # a white page with dark text on it
    page.locator('.page[data-page-number="1"] .textLayer').get_by_text(MARKER, exact=False).wait_for(timeout=10_000)
    assert len(mjs_types) >= 3 and set(mjs_types.values()) == {"text/javascript"}, mjs_types
    assert errors == []
