"""Command line: thin argument parsing; domain errors become one clean message and an exit code.

Heavy imports (pypdf, fpdf2, pygal, watchdog) live inside the command bodies so that
`sitegen --help` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from sitegen import __version__
from sitegen.config import Config, load_config
from sitegen.errors import ExitCode, SitegenError, os_error_message, printable, symlink_loop

log = logging.getLogger("sitegen")


def _add_site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reports", type=Path, metavar="DIR", help="folder of nightly PDFs (default: config 'reports')")
    p.add_argument("--output", type=Path, metavar="DIR", help="folder the site is written to (default: config 'output')")
    p.add_argument("--config", type=Path, metavar="FILE", help="config file (default: ./sitegen.yml if present)")
    p.add_argument("--base-url", metavar="URL", help="absolute URL the site is served from (only for absolute links)")


def _load(args: argparse.Namespace, *, theme_must_exist: bool = False) -> Config:
    """The config file, with command-line flags taking precedence; `theme_must_exist` for the commands that build now."""
    config = load_config(getattr(args, "config", None), theme_must_exist=theme_must_exist)
    overrides = {}
    for flag, key in (("reports", "reports"), ("output", "output"), ("base_url", "base_url")):
        value = getattr(args, flag, None)
        if value is not None:
            # Flags are relative to the current folder, config values to the config file.
            overrides[key] = str(Path(value).resolve()) if isinstance(value, Path) else value
    if config.source is None and "output" in overrides:
        # No config file: the project is the output, wherever the command runs; its cache goes beside it,
        # not into the current folder (where the build may have been started from anywhere).
        overrides["cache_dir"] = str(Path(overrides["output"]).parent / ".sitegen-cache")
    return config.with_overrides(**overrides)


def cmd_build(args: argparse.Namespace) -> int:
    from sitegen.site.build import build_site

    result = build_site(_load(args, theme_must_exist=True))
    for warning in result.warnings:
        log.warning("%s", warning)
    log.info("%s", result.describe())
    if result.warnings:
        log.warning("build finished with %d warning(s)", len(result.warnings))
        return ExitCode.PARTIAL if args.strict else ExitCode.OK
    return ExitCode.OK


def cmd_watch(args: argparse.Namespace) -> int:
    from sitegen.serve import run_watch

    # The config is re-read (with the same flags on top) whenever the config file changes.
    return run_watch(_load(args), reload_config=lambda: _load(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from sitegen.serve import run_serve

    return run_serve(
        _load(args), host=args.host, port=args.port, open_browser=args.open, reload_config=lambda: _load(args)
    )


def cmd_report(args: argparse.Namespace) -> int:
    from sitegen.nightly.report import ReportRequest, run_report

    config = _load(args)
    request = ReportRequest(
        night=args.night,
        logs=list(args.logs or []),
        metrics=args.metrics,
        prometheus=args.prometheus,
        query=args.query,
        metrics_start=args.metrics_start,
        chaos=args.chaos,
        since=args.since,
        until=args.until,
        suite=args.suite,
        rules_file=args.rules,
    )
    outcome = run_report(config, request)
    for line in outcome.messages:
        print(line)
    print(outcome.path)
    return ExitCode.OK


def cmd_collect(args: argparse.Namespace) -> int:
    if args.follow:
        return _cmd_follow(args)
    from sitegen.nightly.collect import collect

    result = collect(
        namespace=args.namespace,
        out=args.out,
        context=args.context,
        selector=args.selector,
        since=args.since,
    )
    for line in result.messages:
        print(line)
    return ExitCode.PARTIAL if result.partial else ExitCode.OK


def _cmd_follow(args: argparse.Namespace) -> int:
    from sitegen.nightly.follow import FollowOptions, follow

    report = _load(args).report  # the files roll over to the next night where the report's night ends
    options = FollowOptions(
        namespace=args.namespace,
        out=args.out,
        context=args.context,
        selector=args.selector,
        night_ends_at=report.night_ends_at,
        timezone=report.timezone,
        max_streams=args.max_streams,
    )
    result = follow(options)
    for line in result.messages:
        print(line)
    return ExitCode.PARTIAL if result.partial else ExitCode.OK


def cmd_nightly(args: argparse.Namespace) -> int:
    from sitegen.nightly.run import run_nightly

    config = _load(args)

    def build() -> str:
        # Wired here because the nightly wing must not import the site builder.
        from sitegen.site.build import build_site

        result = build_site(config)
        for warning in result.warnings:
            log.warning("%s", warning)
        return result.describe()

    result = run_nightly(config, night=args.night, suite=args.suite, build=build)
    return ExitCode.PARTIAL if result.partial else ExitCode.OK


def cmd_init(args: argparse.Namespace) -> int:
    from sitegen.scaffold import init_project

    done = init_project(args.dir)
    for rel in done.written:
        print(f"wrote {done.root / rel}")
    where = "" if args.dir == Path(".") else f"cd {shlex.quote(str(args.dir))} && "  # pasted into a shell
    print(f"next: put report PDFs into reports/, then run: {where}sitegen serve")
    return ExitCode.OK


def cmd_deploy(args: argparse.Namespace) -> int:
    from sitegen.deploy import deploy_gh_pages

    config = _load(args)
    result = deploy_gh_pages(
        config.path("output"), config.root, remote=args.remote, branch=args.branch, message=args.message, dry_run=args.dry_run
    )
    for warning in result.warnings:
        log.warning("%s", warning)
    for line in result.messages:
        print(line)
    return ExitCode.OK


def cmd_config(args: argparse.Namespace) -> int:
    from sitegen.config import describe

    if args.check:
        _load(args, theme_must_exist=True)
        print("config OK")
        return ExitCode.OK
    for key, default, doc in describe():
        print(f"{key:28} {default:40} {doc}" if default else f"{key + ':':28} {doc}")
    return ExitCode.OK


def _version_line() -> str:
    """`sitegen X (pdf.js Y)`: the two versions a bug report needs."""
    from sitegen.site.assets import pdfjs_version

    return f"sitegen {__version__} (pdf.js {pdfjs_version() or 'missing'})"


def _port(text: str) -> int:
    """A TCP port for --port; anything else is a usage error (exit 2) naming the option."""
    if not (text.isascii() and text.isdigit() and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (a number from 0 to 65535)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen",
        description="Nightly chaos-test reports: write them as PDFs and publish them as a static site.",
    )
    parser.add_argument("--version", action="version", version=_version_line())
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages and stage timings")
    parser.add_argument("-q", "--quiet", action="store_true", help="show only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command("build", cmd_build, "Build the static site from the reports folder.")
    _add_site_options(p)
    p.add_argument("--strict", action="store_true", help="exit 1 when the build gave warnings")

    p = command("watch", cmd_watch, "Rebuild the site whenever reports, theme or config change.")
    _add_site_options(p)

    p = command("serve", cmd_serve, "Build, watch and serve the site over HTTP with live reload.")
    _add_site_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port to listen on, 0-65535; 0 picks a free one (default: 8000)")
    p.add_argument("--open", action="store_true", help="open the site in a web browser")

    p = command("report", cmd_report, "Write one night's PDF report from logs, metrics and chaos windows.")
    p.add_argument("--night", required=True, metavar="YYYY-MM-DD", help="the night to report")
    p.add_argument("--logs", nargs="+", metavar="PATH", help="log files, folders, globs, .gz files or - for stdin")
    p.add_argument("--metrics", metavar="PATH", help="sysbench/go-ycsb output, CSV or Prometheus query_range JSON")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus base URL for a live query (with --query)")
    p.add_argument("--query", metavar="EXPR", help="PromQL expression giving QPS")
    p.add_argument(
        "--metrics-start",
        metavar="TIME",
        help="when the load test started, for output that only counts seconds from its start (sysbench, go-ycsb)",
    )
    p.add_argument("--chaos", metavar="PATH", help="Schedule YAML, experiment status, events JSON or CSV of windows")
    p.add_argument("--since", metavar="TIME", help="start of the log window (default: from the night)")
    p.add_argument("--until", metavar="TIME", help="end of the log window (default: from the night)")
    p.add_argument("--suite", metavar="NAME", help="suite sub-folder to write into (default: config report.suite)")
    p.add_argument("--rules", type=Path, metavar="FILE", help="YAML file with a rules: list (default: config rules)")
    p.add_argument("--reports", type=Path, metavar="DIR", help="reports folder (default: config 'reports')")
    p.add_argument("--config", type=Path, metavar="FILE", help="config file (default: ./sitegen.yml if present)")

    p = command("collect", cmd_collect, "Collect the pods' logs of a namespace with kubectl.")
    p.add_argument("--namespace", required=True, metavar="NS", help="Kubernetes namespace")
    p.add_argument("--context", metavar="CTX", help="kubectl context (default: current)")
    p.add_argument("--selector", metavar="LABELS", help="label selector, e.g. app=tidb")
    p.add_argument("--since", default="24h", help="how far back to read logs (default: 24h)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the logs and manifest into")
    p.add_argument("--follow", action="store_true",
                   help="keep running: stream every container instance's log into DIR/NIGHT/ until SIGTERM (--since unused)")
    p.add_argument("--max-streams", type=int, default=32, metavar="N",
                   help="with --follow: log streams (kubectl processes) open at once (default: 32)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="with --follow: config whose report.night_ends_at and timezone end a night")

    p = command("nightly", cmd_nightly, "Run the whole night: collect logs, write the report, rebuild the site.")
    p.add_argument("--night", metavar="YYYY-MM-DD", help="night to report (default: the night that just ended)")
    p.add_argument("--suite", metavar="NAME", help="suite to report into (default: config report.suite)")
    p.add_argument("--config", type=Path, metavar="FILE", help="config file (default: ./sitegen.yml if present)")

    p = command("init", cmd_init, "Start a reports project: sitegen.yml, reports/, .gitignore and a GitHub Pages workflow.")
    p.add_argument("dir", nargs="?", default=Path("."), type=Path, metavar="DIR", help="project folder (default: the current one)")

    p = command("deploy", cmd_deploy, "Publish the built site: commit it to a gh-pages branch and push it.")
    p.add_argument("--gh-pages", action="store_true", required=True, help="commit the site to a branch for GitHub Pages and push it")
    p.add_argument("--remote", default="origin", help="git remote to push to (default: origin)")
    p.add_argument("--branch", default="gh-pages", help="branch that holds the site (default: gh-pages)")
    p.add_argument("--message", metavar="TEXT", help="commit message (default: nights, size and sitegen version)")
    p.add_argument("--dry-run", action="store_true", help="make the commit and say what would be pushed; push nothing")
    p.add_argument("--output", type=Path, metavar="DIR", help="the built site (default: config 'output')")
    p.add_argument("--config", type=Path, metavar="FILE", help="config file (default: ./sitegen.yml if present)")

    p = command("config", cmd_config, "List every config key with its default, or check a config file.")
    p.add_argument("--config", type=Path, metavar="FILE", help="config file to check")
    p.add_argument("--check", action="store_true", help="validate the config and report every problem")
    return parser


class _TerminalFormatter(logging.Formatter):
    """Log lines as the terminal shows them: the values put into a message (file names, log lines, PDF text) with
    every control character escaped, a newline too, so no input can move the cursor, retitle the window or forge
    a line; the message's own lines kept, and what is left unprintable in them escaped as well."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple):
            record.args = tuple(printable(os.fspath(a)) if isinstance(a, str | os.PathLike) else a for a in record.args)
        return _terminal(super().format(record))


def _terminal(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s: %(message)s" if verbose else "%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # fontTools logs every subsetting step at INFO; users only care when it warns.
    logging.getLogger("fontTools").setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every way it can end is a member of ExitCode (argparse's own usage errors exit 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except SitegenError as exc:
        print(_terminal(f"sitegen: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sitegen: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except OSError as exc:
        # Disk full, permissions, a file where a folder should be: the path and the reason are enough to act on.
        print(f"sitegen: error: {os_error_message(exc)}", file=sys.stderr)
        return ExitCode.IO_ERROR
    except Exception as exc:  # the last line of defence: a bug still gets one clear line
        if loop := symlink_loop(exc):  # Python 3.11's Path.resolve() raises RuntimeError, not OSError, for one
            print(f"sitegen: error: {loop}", file=sys.stderr)
            return ExitCode.IO_ERROR
        if args.verbose:
            traceback.print_exc()
        print(
            f"sitegen: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in sitegen; run the command again with -v to see the traceback, and report it.",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
