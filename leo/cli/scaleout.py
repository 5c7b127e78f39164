"""``leo agent run`` and ``leo aggregate``: one sub-agent per CI job, one job for the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leo.cli._guard import seal
from leo.cli._options import (
    change_options,
    config_option,
    plugin_option,
    publish_options,
    quiet_option,
    report_options,
)
from leo.cli._output import emit_report, load_plugins, progress, write_atomically
from leo.publish.options import PublishOptions


@click.group()
def agent() -> None:
    """Run one sub-agent on its own (a CI job of a matrix; see docs/ci.md)."""


@agent.command("run")
@click.argument("name")
@change_options
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the agent result (JSON) to FILE.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Timeout in seconds (overrides config).",
)
@config_option
@quiet_option
@plugin_option
def run(
    name: str,
    repo: str,
    base: str | None,
    head: str,
    output: Path,
    timeout: float | None,
    config_path: Path | None,
    quiet: bool,
    plugin_args: tuple[str, ...],
) -> None:
    """Run sub-agent NAME on the change and write its result with the change's identity.

    Exits 0 once the result is written, whatever it says: `leo aggregate` gives the verdict.
    """
    import anyio

    from leo.scaleout.jobs import run_agent

    plugins = load_plugins(plugin_args)
    envelope = anyio.run(
        lambda: run_agent(
            plugins,
            name,
            repo=repo,
            base=base,
            head=head,
            config_path=config_path,
            timeout=timeout,
            progress=None if quiet else progress,
        )
    )
    write_atomically(output, envelope.model_dump_json(indent=2) + "\n")
    if not quiet:
        click.echo(
            f"leo: {name} {envelope.result.status} on {envelope.head_sha[:12]}; "
            f"result written to {output}",
            err=True,
        )
    seal(0)  # the result is written: only now may `leo agent` exit 0


@click.command("aggregate")
@click.argument(
    "results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--repo",
    default=".",
    show_default=True,
    help="Checkout holding both commits (conflict resolution re-runs sub-agents there).",
)
@click.option("--head", default=None, help="Refuse results for any other head commit.")
@click.option(
    "--require",
    default="",
    metavar="A,B",
    help="Sub-agents whose results must be present, besides the policy's `required`.",
)
@report_options
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The policy the jobs applied (needed when there is no checkout).",
)
@click.option(
    "--no-rerun",
    is_flag=True,
    help="Never run a sub-agent again here, so no code of the change runs in this job "
    "(a disagreement ESCALATEs); for a job that holds write permissions or signing keys.",
)
@quiet_option
@publish_options
@plugin_option
def aggregate_command(
    results: tuple[Path, ...],
    repo: str,
    head: str | None,
    require: str,
    fmt: str,
    output: Path | None,
    config_path: Path | None,
    no_rerun: bool,
    quiet: bool,
    plugin_args: tuple[str, ...],
    **publish: Any,
) -> None:
    """Compute the verdict from the result files of `leo agent run`, as `leo verify` would.

    Refuses results for another head, base or policy and duplicates; a required sub-agent
    without a result is missing evidence. Exits like `leo verify`.
    """
    import anyio

    from leo.metrics import observe_gate_pending
    from leo.publish.delivery import deliver, observe
    from leo.scaleout.jobs import aggregate_runs

    plugins = load_plugins(plugin_args)
    publishing = PublishOptions(**publish)
    observe(publishing, plugins)
    required = [r.strip() for r in require.split(",") if r.strip()]
    report, warnings = anyio.run(
        lambda: aggregate_runs(
            plugins,
            list(results),
            repo=repo,
            head=head,
            config_path=config_path,
            require=required,
            rerun=not no_rerun,
        )
    )
    if publishing.metrics:
        observe_gate_pending(report.duration_s)
    warnings += deliver(publishing, report)
    emit_report(report, fmt, output, quiet=quiet, warnings=warnings)
