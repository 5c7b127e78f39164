"""The ``leo`` command line: thin commands over the supervisor, the plugin host and the formats.

Bad input gets one sentence on stderr and exit 2, never a traceback. Reports go to stdout (or
``--output``); progress and diagnostics go to stderr. Heavy modules load inside the commands so
``leo --version`` and ``leo --help`` stay instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from leo.__about__ import __version__
from leo.errors import ExitCode
from leo.publish import publish_options

if TYPE_CHECKING:
    from leo.models import Report, SubAgentResult
    from leo.plugins import Plugins

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "json", "markdown", "sarif")
EXIT_FOR_VERDICT = {
    "PASS": ExitCode.PASS,
    "FAIL": ExitCode.FAIL,
    "CONDITIONAL_PASS": ExitCode.CONDITIONAL_PASS,
    "ESCALATE": ExitCode.ESCALATE,
}


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    click.echo(f"leo: error: {message}", err=True)
    sys.exit(code)


def plugin_option(fn: F) -> F:
    return click.option(
        "-p",
        "plugin_args",
        multiple=True,
        metavar="MODULE|no:NAME",
        help="Load a plugin module by import path, or block a plugin with no:NAME (repeatable).",
    )(fn)


def _load(plugin_args: tuple[str, ...]) -> Plugins:
    from leo.plugins import load_plugins

    plugins = load_plugins(plugin_args)
    for failure in plugins.failures:
        click.echo(
            f"leo: warning: plugin {failure.name} ({failure.distribution}) not loaded: {failure.error}",
            err=True,
        )
    return plugins


#: Commands that live in their own modules, imported only when used: ``name -> "module:attr"``.
#: Each feature adds one line here and keeps its command next to its code.
LAZY_COMMANDS: dict[str, str] = {
    "agent": "leo.scaleout.commands:agent",
    "aggregate": "leo.scaleout.commands:aggregate_command",
    "metrics": "leo.metrics.commands:metrics",
    "history": "leo.store.commands:history",
    "lead": "leo.store.commands:lead",
    "audit": "leo.store.commands:audit",
    "replay": "leo.store.replay_commands:replay",
    "calibrate": "leo.store.replay_commands:calibrate",
    "init": "leo.github.commands:init",
    "labels": "leo.github.commands:labels",
    "publish": "leo.github.commands:publish",
    "bundle": "leo.bundle.commands:bundle",
    "attest": "leo.bundle.commands:attest",
    "sbom": "leo.bundle.commands:sbom",
    "handoff": "leo.bundle.commands:handoff",
    "key": "leo.bundle.commands:key",
}


def announce_event(hook: str, **kwargs: object) -> None:
    """Tell the plugins about a lane event (LEO's audit store among them); their failures
    become warnings on stderr, never a failed command."""
    from leo.plugins import announce

    for warning in announce(hook, **kwargs):
        click.echo(f"leo: warning: {warning}", err=True)


def report_options(fn: F) -> F:
    """``--format`` and ``--output``, shared by every command that prints a report."""
    fn = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report to FILE instead of stdout.",
    )(fn)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Report format.",
    )(fn)


def emit_report(
    report: Report, fmt: str, output: Path | None, *, quiet: bool, warnings: list[str]
) -> NoReturn:
    """Print the warnings and the report (or write it to ``output``), exit by its verdict."""
    from leo.formats import render

    for warning in warnings:
        click.echo(f"leo: warning: {warning}", err=True)
    text = render(report, fmt, color=fmt == "text" and output is None and sys.stdout.isatty())
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_atomically(output, text)
        if not quiet:
            click.echo(
                f"leo: {report.verdict} (confidence {report.confidence}); report written to {output}",
                err=True,
            )
    sys.exit(EXIT_FOR_VERDICT[report.verdict])


class LeoGroup(click.Group):
    """Turns LEO's errors into one sentence and an exit code, never a traceback; loads the
    commands of ``LAZY_COMMANDS`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            import importlib

            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from leo.errors import LeoError

        try:
            return super().invoke(ctx)
        except LeoError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERNAL)
        except Exception as exc:
            if os.environ.get("LEO_DEBUG"):
                raise
            _fail(
                f"LEO could not run: {type(exc).__name__}: {exc} (set LEO_DEBUG=1 for the traceback)",
                ExitCode.INTERNAL,
            )


@click.group(cls=LeoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="leo", message="%(prog)s %(version)s"
)
def cli() -> None:
    """LEO: the verification gate that decides whether a pull request may merge.

    `leo verify` runs the sub-agents (security, database, testing, performance, design and any
    plugin's) on a change, aggregates their results into a confidence and a verdict, and exits
    0 PASS, 1 FAIL, 2 usage or configuration error, 3 CONDITIONAL_PASS, 4 ESCALATE, 5 when LEO
    itself could not run.
    """


@cli.command()
@click.option("--repo", default=".", show_default=True, help="Git work tree holding the change.")
@click.option(
    "--base", default=None, help="Base ref. [default: merge-base of HEAD with the default branch]"
)
@click.option(
    "--head", default="HEAD", show_default=True, help="Head ref; the verdict is bound to its SHA."
)
@report_options
@click.option(
    "--agents",
    help="Comma-separated sub-agents to run. [default: all loaded, or `select` in config]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Per-agent timeout in seconds (overrides config).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    help="Sub-agents run at once; 0 = all. [default: from config, 0]",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this leo.toml instead of the base commit's policy.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every sub-agent afresh; do not read or write the result cache.",
)
@click.option(
    "--pr",
    type=click.IntRange(min=1),
    help="Pull request N: alone, verify it from GitHub (docs/github.md); with --base/--head, "
    "verify the local range and record the verdict under N (see `leo history`, `leo lead`).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@publish_options
@click.option("--github-repo", help="OWNER/NAME for --pr. [default: GITHUB_REPOSITORY or origin]")
@click.option(
    "--publish",
    "publish_github",
    is_flag=True,
    help="With --pr: post the status, comment and labels.",
)
@click.option("--wait", is_flag=True, help="With --pr: wait for pending required checks.")
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A builder bundle a [CODEX-READY:<sha256>] marker may name (repeatable).",
)
@click.option(
    "--bundle-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The builder's ed25519 public key that bundles must be signed with.",
)
@plugin_option
def verify(
    repo: str,
    base: str | None,
    head: str,
    fmt: str,
    output: Path | None,
    agents: str | None,
    timeout: float | None,
    jobs: int | None,
    config_path: Path | None,
    no_cache: bool,
    pr: int | None,
    quiet: bool,
    github_repo: str | None,
    publish_github: bool,
    wait: bool,
    bundles: tuple[Path, ...],
    bundle_key: Path | None,
    plugin_args: tuple[str, ...],
    **outputs: Any,
) -> None:
    """Verify the change between --base and --head (or pull request --pr) and print the report.

    The policy (threshold, weights, required sub-agents, timeouts) comes from `[tool.leo]` in
    the base commit's pyproject.toml or leo.toml, so the change cannot lower its own bar.
    """
    import anyio

    from leo.cache import ResultCache
    from leo.change import gather_change
    from leo.config import load_config
    from leo.publish import Publisher
    from leo.supervisor import select_agents
    from leo.supervisor import verify as run_verification

    plugins = _load(plugin_args)
    publisher = Publisher(**outputs)
    publisher.observe(plugins)
    requested = [a.strip() for a in agents.split(",") if a.strip()] if agents is not None else None
    if requested == []:
        _fail("--agents is empty; name at least one sub-agent (see `leo plugins`)")

    async def main() -> Any:
        change = await gather_change(repo, base, head)
        config, _source = await load_config(change, config_path)
        names = select_agents(plugins, config, requested)
        if not quiet:
            click.echo(
                f"leo: verifying {change.head_sha[:12]} against {change.base_sha[:12]} "
                f"({len(change.files)} changed files) with {', '.join(names) or 'no sub-agents'}",
                err=True,
            )
        from leo.bundle.gate import handoff_requirements

        requirements = await handoff_requirements(change, head, bundles, bundle_key)
        report, warnings = await run_verification(
            change,
            plugins,
            config,
            names,
            timeout=timeout,
            jobs=jobs,
            requirements=requirements,
            progress=None if quiet else _progress,
            cache=None if no_cache else ResultCache(),
        )
        return report, warnings, config

    # --pr alone reads the pull request from GitHub; with --base/--head the local range is
    # verified and recorded under that pull request (a CI job that already has the checkout).
    github_mode = pr is not None and base is None and head == "HEAD"
    if not github_mode and (publish_github or wait or github_repo):
        _fail("--publish, --wait and --github-repo need --pr N without --base/--head")

    def record(report: Any, config: Any) -> None:
        # Recorded in the audit store before anything is published; a failure exits 5.
        from leo.store.repository import record_report

        record_report(report, pr=pr, config_url=config.database_url)

    async def verify_pr() -> Any:
        from leo.bundle.gate import handoff_requirements
        from leo.github.verify import verify_pull_request

        assert pr is not None
        return await verify_pull_request(
            pr,
            plugins=plugins,
            requested=requested,
            github_repo=github_repo,
            cwd=repo,
            config_path=config_path,
            timeout=timeout,
            jobs=jobs,
            publish=publish_github,
            wait=wait,
            progress=None if quiet else _progress,
            notice=(lambda _m: None) if quiet else (lambda m: click.echo(f"leo: {m}", err=True)),
            record=record,
            cache=None if no_cache else ResultCache(),
            requirements_for=lambda change, ref: handoff_requirements(
                change, ref, bundles, bundle_key
            ),
        )

    if github_mode:
        report, warnings = anyio.run(verify_pr)
    else:
        report, warnings, config = anyio.run(main)
        record(report, config)
    warnings += publisher.publish(report)
    emit_report(report, fmt, output, quiet=quiet, warnings=warnings)


def _progress(event: str, name: str, result: SubAgentResult | None) -> None:
    from leo.formats import clean

    if result is None:
        click.echo(f"leo: {name} running", err=True)
    else:
        click.echo(
            f"leo: {name} {result.status} (confidence {result.confidence}, {result.duration_s:.1f}s): {clean(result.summary)}",
            err=True,
        )


def _write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and a rename: never a half-written report."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        _fail(f"cannot write --output {path}: {exc.strerror}")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@plugin_option
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, plugin_args: tuple[str, ...]) -> None:
    """List loaded plugins, their hooks and sub-agents, and any that failed to load."""
    ctx.obj = plugin_args
    if ctx.invoked_subcommand is not None:
        return
    import json
    from dataclasses import asdict

    loaded = _load(plugin_args)
    if as_json:
        doc = {
            "plugins": [asdict(p) for p in loaded.plugins],
            "failures": [asdict(f) for f in loaded.failures],
            "skipped": loaded.skipped,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    for p in loaded.plugins:
        kind = "built-in" if p.builtin else "plugin"
        agents = f" sub-agents: {', '.join(p.subagents)}" if p.subagents else ""
        click.echo(
            f"{p.name} ({p.distribution} {p.version}, {kind}) hooks: {', '.join(p.hooks)}{agents}"
        )
    for f in loaded.failures:
        click.echo(f"FAILED {f.name} ({f.distribution}): {f.error}")
    for s in loaded.skipped:
        click.echo(f"not loaded: {s}")


@plugins.command("check")
@click.argument("name")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Seconds allowed per situation.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@plugin_option
@click.pass_obj
def plugins_check(
    group_plugins: tuple[str, ...],
    name: str,
    timeout: float,
    as_json: bool,
    plugin_args: tuple[str, ...],
) -> None:
    """Check that sub-agent NAME survives the situations every sub-agent must handle.

    Empty change, deleted, renamed, binary, huge and non-UTF-8 files, a path with spaces and
    unicode, and cancellation at a timeout. Exits 0 when it conforms, 1 when it does not.
    """
    import json

    import anyio

    from leo.conformance import Outcome, check_subagent
    from leo.errors import LeoError

    loaded = _load((*group_plugins, *plugin_args))
    if name not in loaded.agents:
        msg = f"unknown sub-agent {name!r} (known: {', '.join(sorted(loaded.agents))}); see `leo plugins`"
        raise LeoError(msg)

    def show(outcome: Outcome) -> None:
        if not as_json:
            verdict = "ok" if not outcome.problems else "PROBLEM"
            click.echo(f"{verdict:<8} {outcome.situation} ({outcome.status})")
            for problem in outcome.problems:
                click.echo(f"         - {problem}")

    outcomes = anyio.run(
        lambda: check_subagent(loaded.agents[name], {}, timeout=timeout, progress=show)
    )
    failed = [o for o in outcomes if o.problems]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "subagent": name,
                    "conforms": not failed,
                    "situations": [o.__dict__ for o in outcomes],
                },
                indent=2,
            )
        )
    else:
        click.echo(
            f"{name}: {'conforms' if not failed else f'{len(failed)} of {len(outcomes)} situations have problems'}"
        )
    sys.exit(ExitCode.FAIL if failed else ExitCode.PASS)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the report (schema_version 1)."""
    import json

    from leo.models import Report

    click.echo(json.dumps(Report.model_json_schema(), indent=2))


def main() -> None:
    cli(prog_name="leo")
