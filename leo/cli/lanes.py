"""``leo lanes audit``: credential separation between the lanes' workflows (docs/supply-chain.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def lanes() -> None:
    """Check which credentials each lane's workflows hold."""


@lanes.command("audit")
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Git repository; its committed HEAD is audited.",
)
def audit_command(repo: Path) -> None:
    """Audit the committed workflows against [tool.leo.lanes]; exit 0 clean, 1 findings, 2 usage."""
    import anyio

    from leo.errors import ExitCode
    from leo.lanes import audit_repository

    findings = anyio.run(audit_repository, repo)
    for finding in findings:
        click.echo(finding.line())
    if findings:
        click.echo(f"leo: {len(findings)} lane finding(s)", err=True)
        sys.exit(ExitCode.FAIL)
    click.echo("leo: the lanes are separated", err=True)
