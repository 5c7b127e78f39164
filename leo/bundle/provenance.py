"""The in-toto Statement v1 with an SLSA Provenance v1.0 predicate that describes a bundle.

Subjects are the sha256 of the signed members (the patch, the SBOM, the rollback notes); the
one resolved dependency is the repository at the merge-base; ``externalParameters.source``
names the head commit the patch produces. Bundles written before SLSA v1.0 carry a v0.2
predicate (``materials``, ``invocation.configSource``) and are still read. Subjects are matched
purely by digest, never by name (in-toto Statement v1), and only sha256 counts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leo.bundle import strict_json
from leo.bundle.reasons import BundleError, escape

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PREDICATE_V02 = "https://slsa.dev/provenance/v0.2"
BUILD_TYPE = "https://leo.dev/bundle/v1"
DEFAULT_BUILDER = "https://leo.dev/builder/local"
MAX_SUBJECTS = 16
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def statement(
    subjects: Mapping[str, bytes],
    *,
    merge_base: str,
    head: str,
    base_ref: str,
    head_ref: str,
    source_uri: str,
    builder_id: str = DEFAULT_BUILDER,
) -> bytes:
    """The canonical JSON bytes of the Statement (sorted keys, no timestamps: reproducible)."""
    doc = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
            for name, data in sorted(subjects.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "base": base_ref,
                    "head": head_ref,
                    "source": {"uri": source_uri, "digest": {"gitCommit": head}},
                },
                "internalParameters": {"entryPoint": "leo bundle create"},
                "resolvedDependencies": [{"uri": source_uri, "digest": {"gitCommit": merge_base}}],
            },
            "runDetails": {"builder": {"id": builder_id}},
        },
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Provenance:
    """What a verified Statement says, after every check passed."""

    subjects: dict[str, str]
    builder_id: str
    merge_base: str
    head: str
    source_uri: str


def check(payload: bytes, members: Mapping[str, bytes]) -> Provenance:
    """Check the verified ``payload`` against the bundle ``members`` it must describe exactly."""
    doc = strict_json.loads(payload, what="the in-toto Statement")
    if not isinstance(doc, dict):
        raise BundleError("provenance.malformed", "the in-toto Statement is not a JSON object")
    if doc.get("_type") != STATEMENT_TYPE:
        shown = escape(str(doc.get("_type")))
        raise BundleError(
            "attestation.statement_type", f"_type is {shown!r}, expected {STATEMENT_TYPE}"
        )
    predicate_type = doc.get("predicateType")
    if predicate_type not in (PREDICATE_TYPE, PREDICATE_V02):
        shown = escape(str(predicate_type))
        raise BundleError(
            "attestation.predicate_type", f"predicateType is {shown!r}, expected {PREDICATE_TYPE}"
        )
    subjects = _subjects(doc.get("subject"))
    _match(subjects, members)
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise BundleError("provenance.malformed", "the SLSA predicate is not a JSON object")
    if predicate_type == PREDICATE_TYPE:
        build_type = _get(predicate, "buildDefinition", "buildType")
        builder = _get(predicate, "runDetails", "builder", "id")
        source = _get(predicate, "buildDefinition", "externalParameters", "source")
        where, materials = (
            "externalParameters.source",
            _get(predicate, "buildDefinition", "resolvedDependencies"),
        )
    else:
        build_type = predicate.get("buildType")
        builder = _get(predicate, "builder", "id")
        source = _get(predicate, "invocation", "configSource")
        where, materials = "invocation.configSource", predicate.get("materials")
    if build_type != BUILD_TYPE:
        shown = escape(str(build_type))
        raise BundleError("provenance.build_type", f"buildType is {shown!r}, expected {BUILD_TYPE}")
    head = _git_sha(_get(source, "digest", "gitCommit"), where)
    if not isinstance(materials, list) or len(materials) != 1 or not isinstance(materials[0], dict):
        raise BundleError(
            "provenance.malformed",
            "the resolved dependencies must be exactly the repository at the merge-base",
        )
    merge_base = _git_sha(_get(materials[0], "digest", "gitCommit"), "the merge-base dependency")
    if members.get("MERGE_BASE", b"").decode("ascii", "replace").strip() != merge_base:
        raise BundleError(
            "provenance.merge_base_mismatch",
            f"MERGE_BASE does not match the provenance's merge-base {merge_base}",
        )
    return Provenance(subjects, str(builder), merge_base, head, str(source.get("uri", "")))


def _get(doc: Any, *path: str) -> Any:
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BundleError("provenance.malformed", f"the predicate lacks {'.'.join(path)}")
        value = value[key]
    return value


def _git_sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _GIT_SHA.fullmatch(value):
        raise BundleError("provenance.malformed", f"{where} gitCommit is not a full commit id")
    return value


def _subjects(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list) or not raw:
        raise BundleError("provenance.malformed", "the Statement has no subjects")
    if len(raw) > MAX_SUBJECTS:
        raise BundleError(
            "provenance.malformed", f"the Statement has more than {MAX_SUBJECTS} subjects"
        )
    subjects: dict[str, str] = {}
    for item in raw:
        digest = item.get("digest") if isinstance(item, dict) else None
        sha = digest.get("sha256") if isinstance(digest, dict) else None
        name = item.get("name", "") if isinstance(item, dict) else ""
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha) or not isinstance(name, str):
            raise BundleError(
                "attestation.digest_format",
                f"subject {escape(str(name))!r} has no lowercase 64-hex sha256 digest",
            )
        subjects[name] = sha
    return subjects


def _match(subjects: Mapping[str, str], members: Mapping[str, bytes]) -> None:
    """Every signed member's digest is a subject and every subject is a member: by digest only."""
    digests = set(subjects.values())
    signed = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n in SIGNED}
    for name, actual in sorted(signed.items()):
        if actual not in digests:
            claimed = subjects.get(name, "none")
            raise BundleError(
                "attestation.subject_digest_mismatch",
                f"{name} has sha256 {actual} but the attestation claims {claimed}",
            )
    extra = digests - set(signed.values())
    if extra:
        raise BundleError(
            "attestation.subject_digest_mismatch",
            f"the attestation names an artifact not in this bundle (sha256 {min(extra)})",
        )


#: The members whose bytes the Statement binds (MERGE_BASE is bound through the materials).
SIGNED = frozenset({"changes.patch", "sbom.cdx.json", "ROLLBACK.md"})
