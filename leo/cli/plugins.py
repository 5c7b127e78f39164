"""``leo plugins`` and ``leo plugins check``: what is loaded, and whether a sub-agent conforms."""

from __future__ import annotations

import sys

import click

from leo.cli._options import plugin_option
from leo.cli._output import load_plugins
from leo.errors import ExitCode


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the text lines.")
@plugin_option
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, plugin_args: tuple[str, ...]) -> None:
    """List loaded plugins with their hooks, then each sub-agent with its description, then
    plugins that failed to load (FAILED) or were not loaded."""
    ctx.obj = plugin_args
    if ctx.invoked_subcommand is not None:
        return
    import json
    from dataclasses import asdict

    loaded = load_plugins(plugin_args)
    if as_json:
        doc = {
            "plugins": [asdict(p) for p in loaded.plugins],
            "subagents": [
                {"name": n, "plugin": a.plugin, "description": a.cls.description}
                for n, a in sorted(loaded.agents.items())
            ],
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
    for n, a in sorted(loaded.agents.items()):
        click.echo(f"  {n}: {a.cls.description or '(no description)'}")
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
    unicode, and cancellation at a timeout, made to Python and SQL files and to the files the
    sub-agent declares in ``sample_files``. Exits 0 when it conforms, 1 when it does not.
    """
    import json

    import anyio

    from leo.conformance import Outcome, check_subagent
    from leo.errors import LeoError

    loaded = load_plugins((*group_plugins, *plugin_args))
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
    if all(o.status == "skipped" for o in outcomes if o.situation != "cancellation at a timeout"):
        click.echo(
            f"note: {name} skipped every situation, so none reached the code that reads its "
            "files; declare them in its sample_files (docs/writing-plugins.md)",
            err=True,
        )
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
