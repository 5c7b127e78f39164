"""SLSA provenance verification as slsa-verifier does it, offline with a pinned trusted root.

Sigstore bundle -> DSSE -> in-toto Statement -> SLSA provenance v0.2 or v1.0. The signing
certificate must name a trusted builder's workflow (the SLSA GitHub generator's reusable
workflows by default, at a release tag), the provenance's builder id must be that same workflow,
the artifact's sha256 must be a subject, and the source repository and ref must be the expected
ones, both in the provenance and in the certificate's Fulcio extensions (which GitHub, not the
build, wrote). Bare DSSE envelopes without a transparency-log entry are refused: slsa-verifier
looks those up in Rekor online, and LEO verifies offline only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.bundle import keyless, strict_json
from leo.bundle.reasons import BundleError, escape
from leo.errors import LeoError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
_GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
TRUSTED_BUILDERS = tuple(
    _GENERATOR + name
    for name in (
        "generator_generic_slsa3.yml",
        "generator_container_slsa3.yml",
        "builder_go_slsa3.yml",
        "builder_nodejs_slsa3.yml",
        "builder_container-based_slsa3.yml",
        "delegator_generic_slsa3.yml",
        "delegator_lowperms-generic_slsa3.yml",
    )
)
"""slsa-verifier's trusted builders: the SLSA GitHub generator's reusable workflows."""
PREDICATE_V02 = "https://slsa.dev/provenance/v0.2"
PREDICATE_V1 = "https://slsa.dev/provenance/v1"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
GITHUB_WORKFLOW_BUILD = "https://actions.github.io/buildtypes/workflow/v1"
GITHUB_HOSTED_RUNNER = "https://github.com/actions/runner/github-hosted"
"""In GitHub artifact attestations builder.id names the runner; the signer names the workflow."""
MAX_SUBJECTS = 1024
#: Fulcio certificate extensions (sigstore/fulcio docs/oid-info.md): DER UTF8String values.
_OID_SOURCE_URI = "1.3.6.1.4.1.57264.1.12"
_OID_SOURCE_REF = "1.3.6.1.4.1.57264.1.14"
#: The deprecated raw-string spellings older certificates carry instead.
_OID_LEGACY_REPOSITORY = "1.3.6.1.4.1.57264.1.5"
_OID_LEGACY_REF = "1.3.6.1.4.1.57264.1.6"
_RELEASE_TAG = re.compile(r"refs/tags/v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class Expectations:
    """What the provenance must say, in slsa-verifier's terms."""

    source_uri: str
    """``github.com/ORG/REPO`` (``--source-uri``)."""
    builder_id: str | None = None
    """``--builder-id``: with ``@ref`` matched exactly, without it by workflow."""
    source_tag: str | None = None
    source_branch: str | None = None
    trusted_builders: Sequence[str] = TRUSTED_BUILDERS
    source_versioned_tag: str | None = None
    """``--source-versioned-tag vX[.Y[.Z]]``: the tag's semantic version matches what is given."""

    def __post_init__(self) -> None:
        refs = [self.source_tag, self.source_branch, self.source_versioned_tag]
        if sum(r is not None for r in refs) > 1:
            raise LeoError(
                "pass at most one of --source-tag, --source-branch and --source-versioned-tag"
            )
        if self.source_versioned_tag is not None and _semver(self.source_versioned_tag) is None:
            raise LeoError(
                f"--source-versioned-tag {self.source_versioned_tag!r} is not a version like v1, "
                "v1.2 or v1.2.3"
            )
        if not re.fullmatch(r"[\w.-]+(/[\w.-]+)+", normalize_source(self.source_uri)):
            raise LeoError(
                f"--source-uri {self.source_uri!r} is not a repository like github.com/ORG/REPO"
            )


@dataclass(frozen=True)
class Verified:
    """Provenance that passed every check."""

    digest: str
    predicate_type: str
    builder_id: str
    source: str
    ref: str


def normalize_source(uri: str) -> str:
    """``git+https://github.com/o/r@refs/x`` and ``https://github.com/o/r`` -> ``github.com/o/r``."""
    uri = uri.removeprefix("git+")
    uri = uri.removeprefix("https://")
    return uri.split("@", 1)[0].removesuffix(".git")


def read_provenance(raw: bytes) -> bytes:
    """The Sigstore bundle in a provenance file (JSON, or one line of ``.intoto.jsonl``)."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        doc = strict_json.loads(text, what="the provenance file")
    except BundleError:
        if "\n" in text:  # JSON Lines with several attestations: which one would count?
            raise BundleError(
                "provenance.malformed", "the provenance file holds more than one attestation"
            ) from None
        raise
    if isinstance(doc, dict) and "payloadType" in doc and "verificationMaterial" not in doc:
        raise BundleError(
            "provenance.bare_envelope",
            "the provenance is a bare DSSE envelope without a transparency-log entry; LEO verifies "
            "offline and needs a Sigstore bundle (slsa-github-generator v2 or later, GitHub "
            "artifact attestations)",
        )
    return text.encode("utf-8")


def verify(
    artifact: bytes, provenance: bytes, expect: Expectations, *, trusted_root: Path | None
) -> Verified:
    """Verify ``provenance`` (a provenance file's bytes) for ``artifact``; raise at the first failure."""
    from sigstore.verify.policy import OIDCIssuer

    bundle = read_provenance(provenance)
    verified = keyless.verify_with_policy(
        bundle, OIDCIssuer(GITHUB_ACTIONS_ISSUER), trusted_root=trusted_root, artifact=None
    )
    assert verified.certificate is not None and verified.payload is not None
    signer = _signer(verified.certificate)
    _check_builder_trusted(signer, expect)
    statement, digests = keyless.statement_subjects(verified.payload_type, verified.payload)
    if len(digests) > MAX_SUBJECTS:
        raise BundleError("provenance.malformed", f"more than {MAX_SUBJECTS} subjects")
    digest = hashlib.sha256(artifact).hexdigest()
    if digest not in digests:
        raise BundleError(
            "attestation.subject_digest_mismatch",
            f"the provenance's subjects do not include the artifact's sha256 {digest}",
        )
    claims = claims_of(statement)
    if claims.workflow is not None:
        # GitHub artifact attestation: a hosted runner ran the workflow that signed.
        if claims.builder_id != GITHUB_HOSTED_RUNNER:
            raise BundleError(
                "provenance.untrusted_builder",
                f"the attestation was built on {escape(claims.builder_id)!r}, not on "
                f"{GITHUB_HOSTED_RUNNER}",
            )
        if claims.workflow != signer:
            raise BundleError(
                "provenance.builder_mismatch",
                f"the attestation names workflow {escape(claims.workflow)!r} but was signed by "
                f"{escape(signer)!r}",
            )
    elif claims.builder_id != signer:
        raise BundleError(
            "provenance.builder_mismatch",
            f"the provenance names builder {escape(claims.builder_id)!r} but was signed by "
            f"{escape(signer)!r}",
        )
    _check_source(claims.source, claims.ref, verified.certificate, expect)
    return Verified(
        digest, claims.predicate_type, signer, normalize_source(claims.source), claims.ref
    )


def _signer(certificate: Certificate) -> str:
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise BundleError("signature.identity_mismatch", "the certificate has no SAN") from None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise BundleError(
            "signature.identity_mismatch", "the certificate does not name exactly one workflow"
        )
    return str(uris[0])


def _check_builder_trusted(signer: str, expect: Expectations) -> None:
    workflow, _, ref = signer.partition("@")
    if workflow not in expect.trusted_builders:
        raise BundleError(
            "provenance.untrusted_builder",
            f"the provenance was signed by {escape(signer)!r}, which is not a trusted builder",
        )
    # slsa-verifier's rule: the generator's builders are trusted at release tags only.
    if workflow.startswith(_GENERATOR) and not _RELEASE_TAG.fullmatch(ref):
        raise BundleError(
            "provenance.untrusted_builder",
            f"the builder {escape(workflow)} is referenced at {escape(ref)!r}, not at a release tag",
        )
    wanted = expect.builder_id
    if wanted is not None and wanted != (signer if "@" in wanted else workflow):
        raise BundleError(
            "provenance.builder_mismatch",
            f"the builder is {escape(signer)!r}, expected {escape(wanted)!r}",
        )


@dataclass(frozen=True)
class Claims:
    """What a SLSA predicate says about its build."""

    predicate_type: str
    builder_id: str
    source: str
    ref: str
    workflow: str | None = None
    """GitHub artifact attestations: ``https://github.com/O/R/<path>@<ref>`` that ran."""


def claims_of(statement: dict[str, Any]) -> Claims:
    """The claims of a SLSA v0.2 or v1.0 predicate."""
    predicate_type = statement.get("predicateType")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise BundleError("provenance.malformed", "the SLSA predicate is not a JSON object")
    if predicate_type == PREDICATE_V02:
        builder = _text(predicate, "builder", "id")
        uri = _text(predicate, "invocation", "configSource", "uri")
        source, _, ref = uri.partition("@")
        return Claims(predicate_type, builder, source, ref)
    if predicate_type == PREDICATE_V1:
        builder = _text(predicate, "runDetails", "builder", "id")
        external = _get(predicate, "buildDefinition", "externalParameters")
        if _get(predicate, "buildDefinition", "buildType") == GITHUB_WORKFLOW_BUILD:
            repository = _text(external, "workflow", "repository")
            ref = _text(external, "workflow", "ref")
            path = _text(external, "workflow", "path")
            return Claims(predicate_type, builder, repository, ref, f"{repository}/{path}@{ref}")
        uri = _text(external, "source", "uri")
        source, _, ref = uri.partition("@")
        return Claims(predicate_type, builder, source, ref)
    raise BundleError(
        "attestation.predicate_type",
        f"predicateType is {escape(str(predicate_type))!r}, expected {PREDICATE_V02} or {PREDICATE_V1}",
    )


def _get(doc: Any, *path: str) -> Any:
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BundleError("provenance.malformed", f"the predicate lacks {'.'.join(path)}")
        value = value[key]
    return value


def _text(doc: Any, *path: str) -> str:
    value = _get(doc, *path)
    if not isinstance(value, str) or not value:
        raise BundleError("provenance.malformed", f"{'.'.join(path)} is not a non-empty string")
    return value


def _check_source(source: str, ref: str, certificate: Certificate, expect: Expectations) -> None:
    wanted = normalize_source(expect.source_uri)
    shown = normalize_source(source)
    if shown != wanted:
        raise BundleError(
            "provenance.source_mismatch",
            f"the provenance's source is {escape(shown)!r}, expected {escape(wanted)!r}",
        )
    cert_source, cert_ref = _certificate_source(certificate)
    if cert_source is not None and normalize_source(cert_source) != wanted:
        raise BundleError(
            "provenance.source_mismatch",
            f"the certificate's source repository is {escape(cert_source)!r}, expected {escape(wanted)!r}",
        )
    if cert_ref is not None and cert_ref != ref:
        raise BundleError(
            "provenance.ref_mismatch",
            f"the provenance claims ref {escape(ref)!r} but the certificate says {escape(cert_ref)!r}",
        )
    if expect.source_versioned_tag is not None:
        wanted_version = _semver(expect.source_versioned_tag)
        built = _semver(ref.removeprefix("refs/tags/")) if ref.startswith("refs/tags/") else None
        assert wanted_version is not None
        # A shortened tag means zeros (v14.2 is v14.2.0), as Go's semver reads it.
        if built is None or (*built, 0, 0)[: len(wanted_version)] != wanted_version:
            raise BundleError(
                "provenance.ref_mismatch",
                f"the provenance was built from {escape(ref)!r}, not from a tag of version "
                f"{escape(expect.source_versioned_tag)}",
            )
    for kind, name in (("tags", expect.source_tag), ("heads", expect.source_branch)):
        if name is not None and ref != f"refs/{kind}/{name}":
            raise BundleError(
                "provenance.ref_mismatch",
                f"the provenance was built from {escape(ref)!r}, expected refs/{kind}/{escape(name)}",
            )


_SEMVER = re.compile(r"v(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def _semver(tag: str) -> tuple[int, ...] | None:
    """``v1``, ``v1.2``, ``v1.2.3`` (with pre-release or build) -> its given numbers."""
    match = _SEMVER.fullmatch(tag)
    if match is None:
        return None
    return tuple(int(n) for n in match.groups() if n is not None)


def _certificate_source(certificate: Certificate) -> tuple[str | None, str | None]:
    """The source repository and ref that Fulcio recorded from GitHub's OIDC token."""
    values: dict[str, str] = {}
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        raw = getattr(extension.value, "value", None)
        if not isinstance(raw, bytes):
            continue
        if oid in (_OID_SOURCE_URI, _OID_SOURCE_REF):
            values[oid] = _der_utf8(raw)
        elif oid in (_OID_LEGACY_REPOSITORY, _OID_LEGACY_REF):
            values[oid] = raw.decode("utf-8", errors="replace")
    source = values.get(_OID_SOURCE_URI)
    if source is None and _OID_LEGACY_REPOSITORY in values:
        source = f"github.com/{values[_OID_LEGACY_REPOSITORY]}"
    return source, values.get(_OID_SOURCE_REF, values.get(_OID_LEGACY_REF))


def _der_utf8(raw: bytes) -> str:
    """Decode one DER UTF8String (tag 0x0c, definite length)."""
    if len(raw) < 2 or raw[0] != 0x0C:
        raise BundleError("sigstore.invalid", "a Fulcio extension is not a DER UTF8String")
    length, start = raw[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
    if start + length != len(raw):
        raise BundleError("sigstore.invalid", "a Fulcio extension has a bad DER length")
    return raw[start:].decode("utf-8", errors="replace")
