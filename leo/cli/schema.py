"""``leo schema``: the JSON Schema of the report."""

from __future__ import annotations

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of the report (schema_version 1)."""
    import json

    from leo.models import Report

    click.echo(json.dumps(Report.model_json_schema(), indent=2))
