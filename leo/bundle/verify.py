"""Verify a bundle for the enforcer lane: every check, in order, each failing with a reason code.

Read the archive in memory; verify the DSSE signature over exactly the envelope's bytes; read
only the verified payload; match every signed member to a subject by digest; check types, the
merge-base, the SBOM; and with a repository, replay the patch on the merge-base in a throw-away
index and object directory and compare the tree with the expected head.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.bundle import dsse, provenance, sbom
from leo.bundle.read import MERGE_BASE, PATCH, PROVENANCE, SBOM, SIGSTORE, Bundle, read_bundle
from leo.bundle.reasons import BundleError
from leo.errors import LeoError

if TYPE_CHECKING:
    from leo.bundle.provenance import Provenance

_GIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Trust:
    """Who the enforcer trusts to have signed: one ed25519 key, a gpg keyring, or a Sigstore identity."""

    key: Path | None = None
    gpg_keyring: Path | None = None
    identity: str | None = None
    issuer: str | None = None
    trusted_root: Path | None = None

    def mode(self) -> str:
        modes = [
            m
            for m, on in (
                ("key", self.key),
                ("gpg", self.gpg_keyring),
                ("sigstore", self.identity or self.issuer),
            )
            if on
        ]
        if len(modes) != 1:
            msg = "pass exactly one of --key PUB, --gpg-keyring FILE or --identity I --issuer U"
            raise LeoError(msg)
        if modes[0] == "sigstore" and not (self.identity and self.issuer):
            raise LeoError("Sigstore verification needs both --identity and --issuer")
        return modes[0]


@dataclass(frozen=True)
class Verification:
    """A bundle that passed every check."""

    digest: str
    signer: str
    merge_base: str
    head: str
    builder_id: str
    components: int
    replayed: bool


def preload(trust: Trust | None = None, *, schema: bool = True) -> None:
    """Import what ``verify_bundle`` needs for ``trust`` (DSSE, the keys, with ``schema`` the
    SBOM schema; the X.509 certificates only for Sigstore), e.g. in a thread while the archive
    is read and decompressed, which leaves the interpreter free."""
    names = ["securesystemslib.dsse", "securesystemslib.signer"]
    if trust is None or trust.identity or trust.issuer:
        names.append("cryptography.x509")
    for name in names:
        importlib.import_module(name)
    if schema:
        sbom.preload()


async def verify_bundle(
    data: bytes, trust: Trust, *, repo: Path | None = None, expect_head: str | None = None
) -> tuple[Verification, Bundle]:
    """Verify the bytes of ``artifact.tar.gz``; raise ``BundleError`` at the first failure."""
    trust.mode()  # bad trust options are a usage error before any reading
    bundle, envelope = _open(data)
    signer, payload = await verify_envelope(envelope, trust, bundle.members.get(SIGSTORE))
    prov = _statement(envelope, payload, bundle)
    if expect_head is not None:
        wanted = await _resolve(repo, expect_head) if repo is not None else expect_head
        _check_head(prov, wanted)
    doc = sbom.validate(bundle[SBOM], require_version=sbom.BUNDLE_VERSIONS)
    if repo is not None:
        await replay(repo, prov.merge_base, bundle[PATCH], prov.head)
    return _verification(bundle, signer, prov, doc, replayed=repo is not None), bundle


def verify_offline(
    data: bytes,
    trust: Trust,
    *,
    expect_head: str | None = None,
    sbom_check: sbom.ForkedValidation | None = None,
) -> tuple[Verification, Bundle]:
    """``verify_bundle`` without a repository, for a key or Sigstore (gpg runs a program): the
    same checks in the same order, but nothing to run, so no event loop (anyio, asyncio and
    the process helper are 0.1 s of CPU of every `leo bundle verify`, benchmarks/RESULTS.md (6)).
    ``sbom_check`` validates the SBOM in a process started earlier (``sbom.ForkedValidation``
    with ``sbom.BUNDLE_VERSIONS``)."""
    trust.mode()  # bad trust options are a usage error before any reading
    bundle, envelope = _open(data)
    signer, payload = check_signature(envelope, trust, bundle.members.get(SIGSTORE))
    prov = _statement(envelope, payload, bundle)
    if expect_head is not None:
        _check_head(prov, expect_head)
    if sbom_check is None:
        doc = sbom.validate(bundle[SBOM], require_version=sbom.BUNDLE_VERSIONS)
    else:
        doc = sbom_check.validate(bundle[SBOM])
    return _verification(bundle, signer, prov, doc, replayed=False), bundle


def _open(data: bytes) -> tuple[Bundle, dsse.Envelope]:
    """Read the archive and parse its envelope (nothing verified yet)."""
    bundle = read_bundle(data)
    merge_base = bundle[MERGE_BASE].decode("ascii", errors="replace").strip()
    if not _GIT_SHA.fullmatch(merge_base) or bundle[MERGE_BASE] != merge_base.encode() + b"\n":
        raise BundleError("bundle.malformed", "MERGE_BASE is not one full commit id and a newline")
    return bundle, dsse.parse_envelope(bundle[PROVENANCE])


def _statement(envelope: dsse.Envelope, payload: bytes, bundle: Bundle) -> Provenance:
    """The provenance of the verified ``payload``, every member matched to its subject."""
    if envelope.payload_type != dsse.INTOTO_PAYLOAD_TYPE:
        raise BundleError(
            "attestation.payload_type",
            f"payloadType is {envelope.payload_type!r}, expected {dsse.INTOTO_PAYLOAD_TYPE}",
        )
    return provenance.check(payload, bundle.members)


def _check_head(prov: Provenance, wanted: str) -> None:
    if wanted != prov.head:
        raise BundleError(
            "provenance.source_mismatch",
            f"the bundle was built for head {prov.head}, expected {wanted}",
        )


def _verification(
    bundle: Bundle, signer: str, prov: Provenance, doc: dict[str, Any], *, replayed: bool
) -> Verification:
    return Verification(
        digest=bundle.digest,
        signer=signer,
        merge_base=prov.merge_base,
        head=prov.head,
        builder_id=prov.builder_id,
        components=len(doc.get("components") or []),
        replayed=replayed,
    )


async def verify_envelope(
    envelope: dsse.Envelope,
    trust: Trust,
    sigstore_bundle: bytes | None,
    *,
    names: tuple[str, str] = (SIGSTORE, PROVENANCE),
) -> tuple[str, bytes]:
    """``(signer, payload)`` of ``envelope`` as ``trust`` verifies it; with Sigstore, the bundle
    ``sigstore_bundle`` must sign exactly this envelope's statement. ``names`` name the two in
    messages."""
    if trust.mode() == "gpg":
        from leo.bundle import gpg

        assert trust.gpg_keyring is not None
        message = dsse.pae(envelope.payload_type, envelope.payload)
        outcomes = {
            s: await gpg.check(trust.gpg_keyring, s, message) for s in envelope.signatures if s.sig
        }
        return dsse.verify(envelope, lambda s, _m: outcomes.get(s))
    return check_signature(envelope, trust, sigstore_bundle, names=names)


def check_signature(
    envelope: dsse.Envelope,
    trust: Trust,
    sigstore_bundle: bytes | None,
    *,
    names: tuple[str, str] = (SIGSTORE, PROVENANCE),
) -> tuple[str, bytes]:
    """``verify_envelope`` for a key or Sigstore, which run no program (gpg does)."""
    mode = trust.mode()
    if mode == "gpg":
        raise LeoError("gpg signatures are checked by verify_envelope, which runs gpg")
    if mode == "key":
        from leo.bundle import keys

        assert trust.key is not None
        public = keys.load_public(trust.key)
        return dsse.verify(envelope, keys.checker_for(public), trusted=[public.keyid])
    from leo.bundle import keyless

    raw = sigstore_bundle
    sigstore_name, envelope_name = names
    if raw is None:
        raise BundleError(
            "bundle.incomplete", f"the bundle has no {sigstore_name} to verify with Sigstore"
        )
    assert trust.identity is not None and trust.issuer is not None
    verified = keyless.verify(
        raw, identity=trust.identity, issuer=trust.issuer, trusted_root=trust.trusted_root
    )
    if verified.payload is None:
        raise BundleError("sigstore.invalid", f"{sigstore_name} does not hold a DSSE envelope")
    # Mix-and-match (THREATS.md A-17): the Sigstore-signed statement must be the bundle's own.
    if (verified.payload_type, verified.payload) != (envelope.payload_type, envelope.payload):
        raise BundleError(
            "attestation.mix_and_match",
            f"{sigstore_name} signs a different statement than {envelope_name}",
        )
    return f"sigstore:{trust.identity}", verified.payload


async def _resolve(repo: Path, ref: str) -> str:
    from leo.git import run_git

    if ref.startswith("-"):
        raise LeoError(f"--expect-head {ref!r} must not start with '-'")
    result = await run_git(
        repo,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{ref}^{{commit}}",
        check=False,
    )
    if result.returncode != 0:
        raise LeoError(
            f"--expect-head {ref!r} is not a commit in {repo}; fetch it or pass the full SHA"
        )
    return result.stdout_text.strip()


async def replay(repo: Path, merge_base: str, patch: bytes, head: str) -> str:
    """Apply ``patch`` to ``merge_base`` in a throw-away index; check the tree equals ``head``'s.

    New objects go to a temporary object directory (the repository's objects are only read),
    so a hostile patch writes nothing into the repository or its work tree.
    """
    import tempfile

    from leo.bundle.create import git
    from leo.git import run_git

    exists = await run_git(repo, "cat-file", "-e", f"{merge_base}^{{commit}}", check=False)
    if exists.returncode != 0:
        raise BundleError(
            "patch.merge_base_missing", f"the merge-base {merge_base} is not in {repo}"
        )
    head_tree = await run_git(
        repo, "rev-parse", "--verify", "--quiet", f"{head}^{{tree}}", check=False
    )
    if head_tree.returncode != 0:
        raise LeoError(
            f"the bundle's head {head} is not in {repo}; fetch the builder's branch first"
        )
    objects = (
        (await git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
        .decode()
        .strip()
    )
    with tempfile.TemporaryDirectory(prefix="leo-replay-") as tmp:
        Path(tmp, "objects").mkdir()
        env = {
            **os.environ,
            "GIT_INDEX_FILE": str(Path(tmp, "index")),
            "GIT_OBJECT_DIRECTORY": str(Path(tmp, "objects")),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(objects, "objects")),
        }

        async def run(*args: str, stdin: bytes | None = None) -> tuple[int | None, str, str]:
            result = await run_git(repo, *args, env=env, stdin=stdin, timeout=120, check=False)
            return result.returncode, result.stdout_text, result.stderr_text

        code, _, err = await run("read-tree", merge_base)
        if code != 0:
            raise BundleError(
                "patch.merge_base_missing", f"cannot read the merge-base tree: {err.strip()[-200:]}"
            )
        code, _, err = await run(
            "apply", "--cached", "--binary", "--whitespace=nowarn", "-", stdin=patch
        )
        if code != 0:
            raise BundleError(
                "patch.does_not_apply",
                f"the patch does not apply to the merge-base {merge_base}: {err.strip()[-200:]}",
            )
        code, out, err = await run("write-tree")
        if code != 0:
            raise BundleError(
                "patch.does_not_apply", f"cannot write the patched tree: {err.strip()[-200:]}"
            )
    tree = out.strip()
    expected = head_tree.stdout_text.strip()
    if tree != expected:
        raise BundleError(
            "patch.tree_mismatch",
            f"the patched merge-base has tree {tree}, but head {head} has tree {expected}",
        )
    return tree


async def apply_bundle(repo: Path, bundle: Bundle) -> None:
    """Apply a verified bundle's patch to ``repo``'s work tree and index (the enforcer's step)."""
    from leo.git import run_git

    result = await run_git(
        repo,
        "apply",
        "--index",
        "--binary",
        "-",
        stdin=bundle[PATCH],
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BundleError(
            "patch.does_not_apply",
            f"the patch does not apply to {repo}: {result.stderr_text.strip()[-200:]}",
        )
