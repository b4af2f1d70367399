"""Domain errors. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class SitegenError(Exception):
    """A problem the user can fix; its message is shown as is, without a traceback."""

    exit_code = 1


class UsageError(SitegenError):
    """Unusable arguments or input paths (exit 2, nothing written)."""

    exit_code = 2


class ConfigError(UsageError):
    """One or more bad config keys; the message lists every one of them."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = list(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s)"] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class BuildError(SitegenError):
    """The site could not be built; the previous output is left as it was."""


class ReportError(SitegenError):
    """The nightly report could not be written."""


class MissingToolError(SitegenError):
    """A system program or font the feature needs is not installed."""

    exit_code = 3
