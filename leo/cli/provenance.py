"""``leo provenance verify``: SLSA provenance of a release artifact, with slsa-verifier's flags."""

from __future__ import annotations

from pathlib import Path

import click

from leo.cli._output import read_artifact

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def provenance() -> None:
    """Verify SLSA provenance offline (docs/supply-chain.md)."""


@provenance.command("verify")
@click.argument("artifact", type=_file)
@click.option(
    "--provenance-path", required=True, type=_file, help="The provenance: a Sigstore bundle."
)
@click.option("--source-uri", required=True, help="Expected source, e.g. github.com/ORG/REPO.")
@click.option("--builder-id", help="Expected builder workflow (with @ref: exactly that release).")
@click.option("--source-tag", help="Expected tag the artifact was built from.")
@click.option("--source-branch", help="Expected branch the artifact was built from.")
@click.option(
    "--source-versioned-tag",
    help="Expected version of the tag (v1, v1.2 or v1.2.3 match the tag's leading numbers).",
)
@click.option(
    "--trusted-root",
    type=_file,
    help="Sigstore trusted root. [default: production root of the installed sigstore]",
)
@click.option(
    "--trusted-builder",
    "trusted_builders",
    multiple=True,
    help="Also trust this builder workflow, e.g. https://github.com/ORG/REPO/.github/workflows/"
    "release.yml for GitHub artifact attestations (repeatable). [default: the SLSA GitHub "
    "generator's builders]",
)
def verify_command(
    artifact: Path,
    provenance_path: Path,
    source_uri: str,
    builder_id: str | None,
    source_tag: str | None,
    source_branch: str | None,
    source_versioned_tag: str | None,
    trusted_root: Path | None,
    trusted_builders: tuple[str, ...],
) -> None:
    """Verify ARTIFACT's SLSA provenance; exit 0 valid, 1 invalid (reason code), 2 usage."""
    from leo.bundle import slsa
    from leo.bundle.keyless import MAX_BUNDLE_BYTES

    expect = slsa.Expectations(
        source_uri=source_uri,
        builder_id=builder_id,
        source_tag=source_tag,
        source_branch=source_branch,
        source_versioned_tag=source_versioned_tag,
        trusted_builders=(*slsa.TRUSTED_BUILDERS, *trusted_builders),
    )
    result = slsa.verify(
        read_artifact(artifact, 1 << 31),
        read_artifact(provenance_path, MAX_BUNDLE_BYTES),
        expect,
        trusted_root=trusted_root,
    )
    click.echo(
        f"PASS {artifact}: sha256 {result.digest} built by {result.builder_id} from "
        f"{result.source}@{result.ref} (SLSA {result.predicate_type.rsplit('/', 1)[-1]})"
    )
