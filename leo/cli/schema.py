"""``leo schema``: the JSON Schema of the report."""

from __future__ import annotations

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of the report (schema_version 1)."""
    import json

    from leo.models import report_schema

    click.echo(json.dumps(report_schema(), indent=2))
