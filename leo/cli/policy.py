"""``leo policy``: bundle a policy directory and sign it; verify a bundle and a deployed directory.

A failed check prints ``leo: error: <reason code>: <one sentence>`` and exits 1; bad input exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leo.cli._options import trust_from, trust_options
from leo.cli._output import read_artifact


@click.group()
def policy() -> None:
    """Signed policy bundles (docs/supply-chain.md)."""


@policy.command("bundle")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the bundle (e.g. policy-bundle.tar.gz).",
)
@click.option(
    "--sign",
    "sign_spec",
    required=True,
    metavar="key:PATH|gpg:KEYID|sigstore",
    help="How to sign the manifest.",
)
def bundle_command(directory: Path, output: Path, sign_spec: str) -> None:
    """Pack DIRECTORY reproducibly with a signed manifest of sha256 digests; print its sha256."""
    import hashlib

    import anyio

    from leo.bundle.sign import SignSpec
    from leo.errors import LeoError
    from leo.policy.bundle import create

    spec = SignSpec.parse(sign_spec)
    data = anyio.run(lambda: create(directory, spec))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    except OSError as exc:
        raise LeoError(f"cannot write --output {output}: {exc.strerror}") from None
    click.echo(f"leo: wrote {output} ({len(data)} bytes, signed: {spec.kind})", err=True)
    click.echo(f"sha256:{hashlib.sha256(data).hexdigest()}")


@policy.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dir",
    "deployed",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A deployed policy directory that must hold exactly the bundle's files.",
)
@trust_options
def verify_command(file: Path, deployed: Path | None, **trust: Any) -> None:
    """Verify FILE's signature and every digest; exit 0 valid, 1 invalid (reason code), 2 usage."""
    import anyio

    from leo.bundle.read import MAX_COMPRESSED
    from leo.policy.bundle import verify

    data = read_artifact(file, MAX_COMPRESSED)
    result = anyio.run(lambda: verify(data, trust_from(**trust), deployed=deployed))
    matched = f"; {deployed} matches" if deployed is not None else ""
    click.echo(
        f"PASS {file}: {len(result.files)} files, {len(result.resources)} resources, "
        f"signed by {result.signer}{matched}"
    )
