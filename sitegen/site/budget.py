"""GitHub Pages' size limits measured on a built site: how full it is and how many nights fit.

GitHub documents two hard limits that a nightly site runs into: a published Pages site may be no
larger than 1 GB, and a push is refused when one file in it is over 100 MB. Nights are what grows,
so the budget is told in nights: the bytes a night costs (its PDF, page and catalog share) against
what the fixed part (pdf.js, theme) leaves free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sitegen.site.layout import REPORTS_JSON, STATIC_DIR
from sitegen.site.write import tree

PAGES_LIMIT = 1_000_000_000  # "Published GitHub Pages sites may be no larger than 1 GB" (decimal, the stricter reading)
FILE_LIMIT = 100 * 1024 * 1024  # GitHub rejects a push holding a file over 100 MiB
NEAR = 0.8  # warn from this fraction of the limit on: a few weeks of nights ahead of the wall
CATALOG_READ_LIMIT = 256 * 1024 * 1024  # reports.json of 10,000 nights is about 10 MB; a bigger one is not ours


@dataclass(frozen=True)
class Budget:
    """A built site's size against GitHub Pages' limits."""

    site_bytes: int  # every file of the site, as Pages counts it
    fixed_bytes: int  # pdf.js and theme files: the same whatever the number of nights
    nights: int  # distinct dates with a published PDF
    big_files: tuple[tuple[str, int], ...] = ()  # (site-relative path, bytes) over FILE_LIMIT
    limit: int = PAGES_LIMIT

    @property
    def per_night(self) -> float:
        """Bytes one night adds to the site, on average (0 without nights)."""
        return (self.site_bytes - self.fixed_bytes) / self.nights if self.nights else 0.0

    @property
    def nights_that_fit(self) -> int | None:
        """How many nights fit under the limit at the current average; None without nights to measure."""
        if not self.nights or self.per_night <= 0:
            return None
        return max(0, int((self.limit - self.fixed_bytes) // self.per_night))

    @property
    def too_big(self) -> bool:
        """GitHub would refuse or not publish this site."""
        return self.site_bytes > self.limit or bool(self.big_files)

    @property
    def near(self) -> bool:
        return self.site_bytes >= NEAR * self.limit

    def problems(self) -> list[str]:
        """One line per limit reached or near (empty when the site is comfortably inside)."""
        lines = [
            f"{path} is {_mb(size)}; GitHub refuses a push holding a file over 100 MiB"
            for path, size in self.big_files
        ]
        if not self.near:
            return lines
        pct = 100 * self.site_bytes / self.limit
        state = "over" if self.site_bytes > self.limit else f"{pct:.0f} % of"
        line = f"the site is {_mb(self.site_bytes)}, {state} GitHub Pages' 1 GB limit"
        fit = self.nights_that_fit
        if fit is not None:
            line += (
                f"; at {_mb(self.per_night)} a night about {fit} night(s) fit and it holds {self.nights}"
                f" (keep at most {fit} with retention: max_nights)"
            )
        if self.site_bytes > self.limit:
            line += "; GitHub Pages will not publish it"
        return [*lines, line]


def measure(site: Path, limit: int | None = None) -> Budget:
    """Sizes of a built site's files (the writer's own walk) and its published nights from reports.json."""
    sizes = {rel: size for rel, (size, _mtime, _inode) in tree(site).items()}
    nights = _published_nights(site / REPORTS_JSON)
    if nights is None:
        nights = sum(1 for rel in sizes if rel.lower().endswith(".pdf") and not rel.startswith(STATIC_DIR + "/"))
    return from_sizes(sizes, nights, limit)


def from_sizes(sizes: dict[str, int], nights: int, limit: int | None = None) -> Budget:
    """The budget of a site given each file's size (site-relative path -> bytes), measured or planned."""
    limit = PAGES_LIMIT if limit is None else limit
    total = fixed = 0
    big: list[tuple[str, int]] = []
    for rel, size in sizes.items():
        total += size
        if rel.startswith(STATIC_DIR + "/"):
            fixed += size
        if size > FILE_LIMIT:
            big.append((rel, size))
    return Budget(total, fixed, nights, tuple(sorted(big)), limit)


def _published_nights(catalog: Path) -> int | None:
    """Distinct dates with a published PDF in reports.json; None when it cannot be read (then PDFs are counted)."""
    try:
        with catalog.open("rb") as fh:
            raw = fh.read(CATALOG_READ_LIMIT + 1)
        if len(raw) > CATALOG_READ_LIMIT:
            return None
        data = json.loads(raw)
        reports = data["reports"]
        return len({r["date"] for r in reports if isinstance(r, dict) and r.get("pdf_url")})
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _mb(size: float) -> str:
    return f"{size / 1_000_000:.1f} MB"
