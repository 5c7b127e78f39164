"""What every command prints the same way: one-sentence errors, plugin warnings, progress,
lane events, and reports written atomically with the exit code of their verdict."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from leo.cli._guard import listeners, seal
from leo.errors import ExitCode

if TYPE_CHECKING:
    from leo.models import Report, SubAgentResult
    from leo.plugins import Plugins

EXIT_FOR_VERDICT = {
    "PASS": ExitCode.PASS,
    "FAIL": ExitCode.FAIL,
    "CONDITIONAL_PASS": ExitCode.CONDITIONAL_PASS,
    "ESCALATE": ExitCode.ESCALATE,
}


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """One sentence on stderr and the exit code; never a traceback."""
    click.echo(f"leo: error: {message}", err=True)
    seal(code)
    sys.exit(code)


def warn(message: str) -> None:
    click.echo(f"leo: warning: {message}", err=True)


_LOADED: dict[tuple[str, ...], Plugins] = {}


def load_plugins(plugin_args: tuple[str, ...] = ()) -> Plugins:
    """This process's plugin manager for ``-p`` ``plugin_args``, loaded once: the hooks of one
    command (its report, its lane events) all reach the same plugins, each failure one warning."""
    if plugin_args not in _LOADED:
        from leo.plugins import load_plugins as load

        plugins = _LOADED[plugin_args] = load(plugin_args)
        for failure in plugins.failures:
            warn(f"plugin {failure.name} ({failure.distribution}) not loaded: {failure.error}")
    return _LOADED[plugin_args]


def lane_event_plugins(plugin_args: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ``-p`` arguments a lane event loads plugins with: the built-in sub-agents only
    register sub-agents (``tests/test_lane_hooks.py`` pins it), so they are not imported for
    an event no built-in hears (0.35 s of CPU, benchmarks/RESULTS.md (6))."""
    from leo.plugins import BUILTIN_PLUGINS

    return (*plugin_args, *(f"no:leo-{name}" for name in BUILTIN_PLUGINS))


def announce_event(hook: str, plugin_args: tuple[str, ...] = (), **kwargs: object) -> None:
    """Tell the plugins (as ``-p`` chose them) about a lane event; their failures become
    warnings on stderr. With no plugin but LEO's own installed, nobody hears it: nothing loads."""
    from leo.plugins import notify

    if not listeners(plugin_args):
        return
    for warning in notify(load_plugins(lane_event_plugins(plugin_args)).pm, hook, **kwargs):
        warn(warning)


def in_background(*steps: Callable[[], object]) -> Callable[[], None]:
    """Start ``steps`` (imports, mostly) in a thread and return the function that waits for
    them. A command runs them while it waits for git or compresses, which leave the
    interpreter free (benchmarks/RESULTS.md (6)). A step that fails is only skipped: the
    command meets the same failure again where it needs the step, and reports it there."""

    def run() -> None:
        for step in steps:
            try:
                step()
            except Exception:  # noqa: S112 (the command reports it where it matters)
                continue

    thread = threading.Thread(target=run, name="leo-preload")
    thread.start()
    return thread.join


def prepare_lane_event(plugin_args: tuple[str, ...] = ()) -> None:
    """Load the plugins a lane event (``announce_event``) tells, if any could hear it; a step
    for ``in_background``. The handoff record (``record_handoff``) needs no SQLAlchemy on a
    current SQLite database, and imports it itself otherwise."""
    if listeners(plugin_args):
        load_plugins(lane_event_plugins(plugin_args))


def progress(event: str, name: str, result: SubAgentResult | None) -> None:
    """A line on stderr when a sub-agent starts and when it ends."""
    from leo.formats import clean

    if result is None:
        click.echo(f"leo: {name} running", err=True)
    else:
        click.echo(
            f"leo: {name} {result.status} (confidence {result.confidence}, "
            f"{result.duration_s:.1f}s): {clean(result.summary)}",
            err=True,
        )


def write_atomically(path: Path, text: str) -> None:
    """Write ``--output`` atomically (``leo.files``); a failure is one sentence, exit 2."""
    from leo.files import write_atomically as write

    try:
        write(path, text)
    except OSError as exc:
        fail(f"cannot write --output {path}: {exc.strerror}")


def emit_report(
    report: Report, fmt: str, output: Path | None, *, quiet: bool, warnings: list[str]
) -> NoReturn:
    """Print the warnings and the report (or write it to ``output``), exit by its verdict."""
    from leo.formats import render

    for warning in warnings:
        warn(warning)
    text = render(report, fmt, color=fmt == "text" and output is None and sys.stdout.isatty())
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, text)
        if not quiet:
            click.echo(
                f"leo: {report.verdict} (confidence {report.confidence}); report written to {output}",
                err=True,
            )
    seal(EXIT_FOR_VERDICT[report.verdict])
    sys.exit(EXIT_FOR_VERDICT[report.verdict])


def read_artifact(path: Path, limit: int) -> bytes:
    """The bytes of an artifact, refused (``BundleError``) when larger than ``limit``."""
    from leo.bundle.reasons import BundleError

    if path.stat().st_size > limit:
        raise BundleError("bundle.too_large", f"{path} is larger than {limit} bytes")
    return path.read_bytes()
