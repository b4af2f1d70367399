"""Domain errors and the one table of exit codes. Library code raises these; only the CLI exits."""

from __future__ import annotations

import enum
import os


class ExitCode(enum.IntEnum):
    """Every exit code of every command; README.md and docs/nightly.md document this table."""

    OK = 0  # done (for `build`, also with warnings unless --strict)
    PARTIAL = 1  # build warnings with --strict, or a partial result (some pods' logs could not be read)
    USAGE = 2  # bad arguments or config; nothing written
    MISSING_TOOL = 3  # a system program (kubectl, chromium...) or a font is not installed
    NO_CLUSTER = 4  # the Kubernetes cluster could not be reached, or listing its pods was forbidden
    LOCKED = 5  # another `sitegen nightly` holds the lock file; this run did nothing
    FAILED = 6  # the report or the site build failed
    INTERNAL = 70  # EX_SOFTWARE: an unexpected failure inside sitegen, i.e. a bug
    IO_ERROR = 74  # EX_IOERR: the operating system refused a file operation (disk full, permission denied)
    INTERRUPTED = 130  # 128 + SIGINT: stopped with Ctrl+C


class SitegenError(Exception):
    """A problem the user can fix; its message is shown as is, without a traceback."""

    exit_code = ExitCode.FAILED


class UsageError(SitegenError):
    """Unusable arguments or input paths (nothing written)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """One or more bad config keys; the message lists every one of them."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = list(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s)"] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class BuildError(SitegenError):
    """The site could not be built; the previous output is left as it was."""

    exit_code = ExitCode.FAILED


class ReportError(SitegenError):
    """The nightly report could not be written."""

    exit_code = ExitCode.FAILED


class MissingToolError(SitegenError):
    """A system program or font the feature needs is not installed."""

    exit_code = ExitCode.MISSING_TOOL


class NoClusterError(SitegenError):
    """kubectl could not list the namespace's pods: no cluster access, a wrong context, or RBAC."""

    exit_code = ExitCode.NO_CLUSTER


class LockHeldError(SitegenError):
    """Another `sitegen nightly` is running with the same lock file."""

    exit_code = ExitCode.LOCKED


def symlink_loop(exc: BaseException) -> str | None:
    """The message for a loop of symbolic links met by `Path.resolve()` (a RuntimeError before Python 3.13), else None."""
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from "):
        return f"{printable(str(exc)[len('Symlink loop from '):])}: a loop of symbolic links (the link leads back to itself)"
    return None


def os_error_message(exc: OSError) -> str:
    """One line for a failed file operation: `PATH: reason`, naming both paths of a failed rename."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return printable(reason)
    where = _path(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {_path(exc.filename2)}"
    return printable(f"{where}: {reason}")


def _path(name: object) -> str:
    return os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)


def printable(text: str) -> str:
    """`text` as one terminal line: a file name can hold newlines or escape sequences; they must not forge
    terminal or log lines, so each unprintable character is shown escaped (`\x1b`)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
