"""Reading the night's logs: many formats, streamed in constant memory, summarised into a LogDigest.

inputs (files, folders, globs, .gz, stdin) -> formats (per-line detection) -> entries (the one record
assembler: multi-line records, bounded) -> skips + scan (the fast block reader: which lines need parsing) ->
tally/signatures -> digest (the public entry points).
"""

from sitegen.nightly.logs.digest import digest_logs, iter_records

__all__ = ["digest_logs", "iter_records"]
