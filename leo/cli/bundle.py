"""The command line of bundles: ``leo bundle``, ``leo attest``, ``leo sbom``, ``leo handoff``, ``leo key``.

Only click is imported at the top; each command loads what it needs. A failed check prints
``leo: error: <reason code>: <one sentence>`` on stderr and exits 1; bad input exits 2.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from leo.cli._options import plugin_option, trust_from, trust_options
from leo.cli._output import announce_event, in_background, prepare_lane_event, read_artifact

if TYPE_CHECKING:
    from leo.bundle.create import Compression

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def bundle() -> None:
    """Create and verify builder bundles (artifact.tar.gz)."""


@bundle.command("create")
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Git repository.",
)
@click.option(
    "--base", required=True, help="Base ref; the bundle starts at its merge-base with --head."
)
@click.option(
    "--head", default="HEAD", show_default=True, help="Head ref the bundle's patch produces."
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the bundle.",
)
@click.option(
    "--sign",
    "sign_spec",
    metavar="key:PATH|gpg:KEYID|sigstore",
    help="Sign the provenance. [default: unsigned]",
)
@click.option("--builder-id", default=None, help="builder.id recorded in the provenance.")
@click.option(
    "--compression",
    type=click.Choice(["zstd", "gzip"]),
    default="zstd",
    show_default=True,
    help="zstd (bundle format 2) or gzip (format 1, for a LEO that reads only gzip).",
)
@plugin_option
def create(
    repo: Path,
    base: str,
    head: str,
    output: Path,
    sign_spec: str | None,
    builder_id: str | None,
    compression: Compression,
    plugin_args: tuple[str, ...],
) -> None:
    """Write a reproducible bundle and print its handoff marker [CODEX-READY:<sha256>]."""
    from leo.bundle import provenance
    from leo.bundle.create import create_bundle, preload, resolve_commit
    from leo.bundle.markers import render
    from leo.bundle.sign import SignSpec

    spec = SignSpec.parse(sign_spec)
    # The imports of signing, the audit store and the plugins run while git and zstd work
    # (benchmarks/RESULTS.md (6)).
    imported = in_background(preload, lambda: prepare_lane_event(plugin_args))
    head_sha = resolve_commit(repo, head)
    data = create_bundle(
        repo,
        base,
        head,
        spec,
        builder_id=builder_id or provenance.DEFAULT_BUILDER,
        compression=compression,
    )
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    except OSError as exc:
        from leo.errors import LeoError

        raise LeoError(f"cannot write --output {output}: {exc.strerror}") from None
    click.echo(f"leo: wrote {output} ({len(data)} bytes, signed: {spec.kind})", err=True)
    digest = hashlib.sha256(data).hexdigest()
    marker = render("ready", digest)
    imported()
    from leo.store.handoffs import record_handoff

    record_handoff(str(repo), head_sha, digest, marker, "builder")  # exit 5 when it cannot
    announce_event(
        "leo_bundle_created",
        plugin_args,
        repo=str(repo),
        head_sha=head_sha,
        digest=digest,
        marker=marker,
    )
    click.echo(marker)


@bundle.command("verify")
@click.argument("artifact", type=_file)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Replay the patch on the merge-base in this repository.",
)
@click.option("--expect-head", help="The head commit the bundle must have been built for.")
@trust_options
def verify_command(
    artifact: Path, repo: Path | None, expect_head: str | None, **trust: Any
) -> None:
    """Verify a bundle without extracting it; exit 0 only when every check holds."""
    from leo.bundle import sbom
    from leo.bundle.read import MAX_COMPRESSED
    from leo.bundle.verify import preload, verify_bundle, verify_offline

    trusted = trust_from(**trust)
    if repo is None and trusted.gpg_keyring is None:  # no git, no gpg: no event loop either
        # A forked child builds the SBOM schema on the other core; it forks before any thread.
        with sbom.ForkedValidation(sbom.BUNDLE_VERSIONS) as sbom_check:
            in_background(lambda: preload(trusted, schema=False))
            data = read_artifact(artifact, MAX_COMPRESSED)
            result, _ = verify_offline(
                data, trusted, expect_head=expect_head, sbom_check=sbom_check
            )
    else:
        in_background(lambda: preload(trusted))  # while the archive is read and decompressed
        data = read_artifact(artifact, MAX_COMPRESSED)
        import anyio

        result, _ = anyio.run(
            lambda: verify_bundle(data, trusted, repo=repo, expect_head=expect_head)
        )
    replay = "; the patch replays to the head tree" if result.replayed else ""
    click.echo(
        f"PASS bundle sha256:{result.digest} signed by {result.signer}; head {result.head}, "
        f"merge-base {result.merge_base}, {result.components} SBOM components{replay}"
    )


@bundle.command("apply")
@click.argument("artifact", type=_file)
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository to apply the patch to.",
)
@click.option("--expect-head", help="The head commit the bundle must have been built for.")
@trust_options
@plugin_option
def apply_command(
    artifact: Path,
    repo: Path,
    expect_head: str | None,
    plugin_args: tuple[str, ...],
    **trust: Any,
) -> None:
    """Verify a bundle (with the replay), then apply its patch to --repo; print [CLAUDE-APPLIED:<sha256>]."""
    import anyio

    from leo.bundle.read import MAX_COMPRESSED
    from leo.bundle.verify import apply_bundle, preload, verify_bundle

    imported = in_background(preload, lambda: prepare_lane_event(plugin_args))
    data = read_artifact(artifact, MAX_COMPRESSED)

    async def main() -> tuple[str, str]:
        result, contents = await verify_bundle(
            data, trust_from(**trust), repo=repo, expect_head=expect_head
        )
        await apply_bundle(repo, contents)
        return result.digest, result.head

    digest, head_sha = anyio.run(main)
    click.echo(f"leo: applied bundle sha256:{digest} to {repo} (staged, not committed)", err=True)
    marker = f"[CLAUDE-APPLIED:{digest}]"
    imported()
    from leo.store.handoffs import record_handoff

    record_handoff(str(repo), head_sha, digest, marker, "enforcer")  # exit 5 when it cannot
    announce_event(
        "leo_bundle_applied",
        plugin_args,
        repo=str(repo),
        head_sha=head_sha,
        digest=digest,
        marker=marker,
    )
    click.echo(marker)


@click.group()
def attest() -> None:
    """Verify attestations offline: Sigstore bundles, and LEO's signed verdicts (VSA)."""


@attest.command("verify")
@click.argument("artifact", type=_file)
@click.option("--bundle", "bundle_path", type=_file, help="The Sigstore bundle (.sigstore.json).")
@click.option("--identity", help="Keyless: the signer's exact certificate identity (SAN).")
@click.option("--issuer", help="Keyless: the exact OIDC issuer of that identity.")
@click.option(
    "--key",
    "key_path",
    type=_file,
    help="Managed key: the PEM public key the bundle was signed with (no certificate).",
)
@click.option(
    "--trusted-root",
    type=_file,
    help="Trusted root or client trust config. [default: production root of the installed sigstore]",
)
@click.option(
    "--head", "head_sha", hidden=True, help="Deprecated: see `leo attest verify-verdict`."
)
def attest_verify(
    artifact: Path,
    bundle_path: Path | None,
    identity: str | None,
    issuer: str | None,
    key_path: Path | None,
    trusted_root: Path | None,
    head_sha: str | None,
) -> None:
    """Verify that the Sigstore bundle --bundle signs ARTIFACT, offline against a pinned trusted
    root: keyless with --identity and --issuer, or with a managed key with --key."""
    from leo.errors import LeoError

    if bundle_path is None and key_path is not None and not (identity or issuer):
        # The spelling before issue 20, when --key meant a LEO verdict.
        click.echo(
            "leo: warning: `leo attest verify FILE --key PUB` for a verdict is deprecated; "
            "use `leo attest verify-verdict FILE --key PUB`",
            err=True,
        )
        _verify_verdict(artifact, key_path, head_sha)
        return
    if bundle_path is None:
        raise LeoError("give --bundle with --identity and --issuer, or with --key")
    if key_path is not None:
        if identity or issuer or head_sha:
            raise LeoError("--key verifies a managed-key bundle; drop --identity, --issuer, --head")
        from leo.bundle import managed
        from leo.bundle.keyless import MAX_BUNDLE_BYTES

        summary = managed.verify(
            read_artifact(artifact, 1 << 31),
            read_artifact(bundle_path, MAX_BUNDLE_BYTES),
            read_artifact(key_path, 64 * 1024),
            trusted_root=trusted_root,
        )
        click.echo(f"PASS {summary}")
        return
    if not (identity and issuer):
        raise LeoError("a keyless bundle needs both --identity and --issuer; pin the signer")
    from leo.bundle.keyless import MAX_BUNDLE_BYTES, verify_artifact

    summary = verify_artifact(
        read_artifact(artifact, 1 << 31),
        read_artifact(bundle_path, MAX_BUNDLE_BYTES),
        identity=identity,
        issuer=issuer,
        trusted_root=trusted_root,
    )
    click.echo(f"PASS {summary}")


@attest.command("verify-verdict")
@click.argument("attestation", type=_file)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=_file,
    help="ed25519 public key the verdict was signed with.",
)
@click.option("--head", "head_sha", help="The commit the verdict must be about.")
def attest_verify_verdict(attestation: Path, key_path: Path, head_sha: str | None) -> None:
    """Verify a verdict attestation (SLSA VSA) that `leo verify --attest` signed."""
    _verify_verdict(attestation, key_path, head_sha)


def _verify_verdict(attestation: Path, key_path: Path, head_sha: str | None) -> None:
    from leo.bundle import keys
    from leo.bundle.vsa import MAX_ATTESTATION_BYTES, verify_attestation

    stmt = verify_attestation(
        read_artifact(attestation, MAX_ATTESTATION_BYTES),
        keys.checker_for(keys.load_public(key_path)),
        head_sha=head_sha,
    )
    predicate = stmt.get("predicate", {})
    click.echo(
        f"PASS {attestation}: {predicate.get('verificationResult')} verdict "
        f"{predicate.get('leo', {}).get('verdict')} about {stmt['subject'][0]['digest'].get('gitCommit')}"
    )


@click.group()
def sbom() -> None:
    """Validate CycloneDX SBOMs."""


@sbom.command("validate")
@click.argument("file", type=_file)
@click.option(
    "--spec-version",
    "spec_versions",
    multiple=True,
    help="Also require this specVersion (repeatable). [default: any of 1.4, 1.5, 1.6, 1.7]",
)
def sbom_validate(file: Path, spec_versions: tuple[str, ...]) -> None:
    """Validate FILE against the CycloneDX JSON schema of its own specVersion."""
    from leo.bundle.sbom import MAX_SBOM_BYTES, validate

    required = {v for v in spec_versions if v != "any"}
    doc = validate(read_artifact(file, MAX_SBOM_BYTES), require_version=required or None)
    click.echo(
        f"PASS {file}: CycloneDX {doc.get('specVersion')}, {len(doc.get('components') or [])} components"
    )


@click.group()
def handoff() -> None:
    """Audit the handoff markers between the lanes."""


@handoff.command("audit")
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Git repository.",
)
@click.option("--base", required=True, help="Base ref; only commits in base..head count.")
@click.option("--head", default="HEAD", show_default=True, help="Head ref.")
@click.option(
    "--branch",
    help="The head's branch name (staging/codex-* or feature/*). [default: --head when it names a branch]",
)
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=_file,
    help="A bundle a READY marker may name (repeatable).",
)
@trust_options
def handoff_audit(
    repo: Path, base: str, head: str, branch: str | None, bundles: tuple[Path, ...], **trust: Any
) -> None:
    """Check the marker chain of base..head; exit 0 intact, 1 broken, 4 a LEAD must decide."""
    import anyio

    from leo.bundle.chain import Audit
    from leo.bundle.gate import audit_change, requirements, summarize
    from leo.bundle.markers import render
    from leo.errors import ExitCode

    trusted = trust_from(**trust) if any(trust.values()) else None
    if trusted is not None:
        trusted.mode()

    async def main() -> Audit:
        name = branch
        if name is None:
            from leo.git import run_git

            result = await run_git(
                repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{head}", check=False
            )
            name = head if result.returncode == 0 else None
        return await audit_change(repo, base, head, bundles=bundles, trust=trusted, branch=name)

    audit = anyio.run(main)
    for marker in audit.markers:
        kind = "claim" if marker.kind in ("supervisor", "lead") else "marker"
        click.echo(f"{kind} {marker.commit[:12]} {render(marker.kind, marker.value)}")
    if audit.issues:
        click.echo(summarize(audit.issues), err=True)
    reqs = requirements(audit)
    for req in reqs:
        state = {True: "met", False: "FAILED", None: "undecided"}[req.met]
        click.echo(f"{req.name}: {state} — {req.detail}")
    if not audit.markers and not audit.issues:
        click.echo("no handoff markers in this change (that is not a PASS)")
        sys.exit(ExitCode.ESCALATE)
    if any(r.met is False for r in reqs):
        sys.exit(ExitCode.FAIL)
    if any(r.met is None for r in reqs):
        sys.exit(ExitCode.ESCALATE)


@click.group()
def key() -> None:
    """Manage offline signing keys."""


@key.command("generate")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the private key here and the public key to OUTPUT.pub.",
)
def key_generate(output: Path) -> None:
    """Generate an ed25519 key pair for `leo bundle create --sign key:OUTPUT`."""
    from leo.bundle.keys import generate

    private, public, keyid = generate(output)
    click.echo(f"leo: wrote {private} (private, mode 0600) and {public}", err=True)
    click.echo(keyid)
