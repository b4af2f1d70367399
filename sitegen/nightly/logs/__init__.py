"""Reading the night's logs: many formats, streamed in constant memory, summarised into a LogDigest.

inputs (files, folders, globs, .gz, stdin) -> formats (per-line detection) -> entries (multi-line
records) -> scan (the fast block reader) -> tally/signatures -> digest (the public entry points).
"""

from sitegen.nightly.logs.digest import digest_logs, iter_records

__all__ = ["digest_logs", "iter_records"]
