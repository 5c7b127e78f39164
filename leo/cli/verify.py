"""``leo verify``: the supervisor's command, for a local range or a pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leo.cli._options import (
    change_options,
    config_option,
    github_repo_option,
    plugin_option,
    publish_options,
    quiet_option,
    report_options,
)
from leo.cli._output import emit_report, fail, load_plugins, progress, warn


@click.command()
@change_options
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
@config_option
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
@quiet_option
@publish_options
@github_repo_option
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
    from leo.change import gather_change, uncommitted
    from leo.config import load_config
    from leo.publish.delivery import deliver, observe
    from leo.publish.options import PublishOptions
    from leo.supervisor import select_agents
    from leo.supervisor import verify as run_verification

    plugins = load_plugins(plugin_args)
    publishing = PublishOptions(**outputs)
    observe(publishing, plugins)
    requested = [a.strip() for a in agents.split(",") if a.strip()] if agents is not None else None
    if requested == []:
        fail("--agents is empty; name at least one sub-agent (see `leo plugins`)")

    async def main() -> Any:
        change = await gather_change(repo, base, head)
        left_out = await uncommitted(change)
        if left_out:
            shown = ", ".join(left_out[:5]) + (", …" if len(left_out) > 5 else "")
            warn(
                f"{len(left_out)} uncommitted change(s) in {change.repo} ({shown}) are not "
                f"verified: LEO checks the commits {change.base_sha[:12]}..{change.head_sha[:12]}; "
                "commit them to include them"
            )
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
            progress=None if quiet else progress,
            cache=None if no_cache else ResultCache(),
        )
        return report, warnings, config

    # --pr alone reads the pull request from GitHub; with --base/--head the local range is
    # verified and recorded under that pull request (a CI job that already has the checkout).
    github_mode = pr is not None and base is None and head == "HEAD"
    if not github_mode and (publish_github or wait or github_repo):
        fail("--publish, --wait and --github-repo need --pr N without --base/--head")

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
            progress=None if quiet else progress,
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
    warnings += deliver(publishing, report)
    emit_report(report, fmt, output, quiet=quiet, warnings=warnings)
