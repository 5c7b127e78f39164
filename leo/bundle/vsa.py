"""The verdict as evidence: an in-toto Statement v1 with an SLSA Verification Summary predicate.

``leo verify --attest FILE`` writes the Statement about the head commit in a DSSE envelope.
It is signed by the same code as a builder bundle (``leo.bundle.sign``: ``--sign key:PATH`` or
``gpg:KEYID``) and checked by ``leo attest verify-verdict FILE --key PUB``. Verification checks the DSSE signature over the exact
payload bytes first and only then reads the Statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.errors import ExitCode, LeoError
from leo.files import write_atomically

if TYPE_CHECKING:
    from leo.bundle.dsse import Signature
    from leo.models import Report

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
VERIFIER_ID = "https://github.com/leo-gate/leo"
#: LEO's own verified level (SLSA forbids custom values starting with ``SLSA_``).
LEVEL_PASS = "LEO_VERDICT_PASS"  # noqa: S105 (a level name, not a password)
MAX_ATTESTATION_BYTES = 16 * 1024 * 1024

#: Signs the DSSE pre-authentication encoding (``leo.bundle.dsse.Signature``).
Signer = Callable[[bytes], "Signature"]
#: Checks one signature over the PAE bytes; returns the signer's name, or None.
Check = Callable[["Signature", bytes], "str | None"]


class AttestationError(LeoError):
    """An attestation that does not verify (exit 1: the evidence is bad, not the input)."""

    exit_code = ExitCode.FAIL


def statement(report: Report, *, time_verified: datetime | None = None) -> dict[str, Any]:
    """The in-toto Statement: a VSA v1 about the head commit, with LEO's verdict attached."""
    passed = report.verdict == "PASS"
    when = (time_verified or datetime.now(UTC)).astimezone(UTC)
    algorithm, _, digest = report.config_digest.partition(":")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": _resource(report.repository), "digest": {"gitCommit": report.head_sha}}
        ],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {
                "id": VERIFIER_ID,
                "version": {
                    "leo-gate": report.leo_version,
                    **{a.plugin: a.plugin_version for a in report.agents if a.plugin},
                },
            },
            "timeVerified": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resourceUri": _resource(report.repository),
            "policy": {"uri": "leo:tool.leo@" + report.base_sha, "digest": {algorithm: digest}},
            "inputAttestations": [],
            # Only PASS passes: CONDITIONAL_PASS and ESCALATE wait for a LEAD, who is no signer here.
            "verificationResult": "PASSED" if passed else "FAILED",
            "verifiedLevels": [LEVEL_PASS] if passed else ["FAILED"],
            "slsaVersion": "1.0",
            # An extension field (SLSA parsers ignore unknown fields): the verdict in full.
            "leo": {
                "verdict": report.verdict,
                "confidence": report.confidence,
                "baseSha": report.base_sha,
                "configDigest": report.config_digest,
                "reasons": list(report.reasons),
                "agents": [
                    {"name": a.name, "status": a.status, "confidence": a.confidence}
                    for a in report.agents
                ],
            },
        },
    }


def _resource(repository: str) -> str:
    if repository.startswith("/"):
        return "git+file://" + repository
    if repository.count("/") == 1 and "://" not in repository:
        return "git+https://github.com/" + repository
    return repository


def envelope(payload_type: str, payload: bytes, signers: Sequence[Signer] = ()) -> str:
    """The DSSE envelope JSON of ``payload`` signed by each of ``signers`` (none: unsigned)."""
    from leo.bundle import dsse

    return dsse.sign(payload_type, payload, signers).to_json()


def sign_envelope(payload_type: str, payload: bytes, sign_spec: str | None) -> str:
    """The envelope JSON, signed as ``sign_spec`` says (``key:PATH``, ``gpg:KEYID``) exactly as
    a builder bundle is, or unsigned when ``sign_spec`` is None."""
    import anyio

    from leo.bundle.sign import SignSpec, sign_payload

    spec = SignSpec.parse(sign_spec)
    if spec.kind == "sigstore":
        msg = "--attest cannot be signed with --sign sigstore yet; use --sign key:PATH or gpg:KEYID"
        raise LeoError(msg)
    signed, _ = anyio.run(sign_payload, spec, payload, payload_type)
    return signed.to_json()


def write_attestation(report: Report, path: Path, sign_spec: str | None) -> list[str]:
    """Write the signed VSA of ``report`` to ``path``; return warnings (unsigned is one)."""
    payload = json.dumps(statement(report), sort_keys=True, separators=(",", ":")).encode()
    text = sign_envelope(PAYLOAD_TYPE, payload, sign_spec)
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise LeoError(f"cannot write --attest {path}: {exc.strerror}") from None
    if sign_spec is None:
        return [f"the attestation {path} is unsigned (no --sign); verifiers will reject it"]
    return []


def verify_attestation(data: bytes, check: Check, *, head_sha: str | None = None) -> dict[str, Any]:
    """Verify a VSA envelope; return its Statement, read only from the signed bytes.

    Raises ``AttestationError`` when it is malformed, unsigned, signed by no trusted key, not a
    VSA, or about another commit than ``head_sha``.
    """
    from leo.bundle import dsse, strict_json
    from leo.bundle.reasons import BundleError

    if len(data) > MAX_ATTESTATION_BYTES:
        raise AttestationError("the attestation is larger than any LEO writes")
    try:
        env = dsse.parse_envelope(data)
        if env.payload_type != PAYLOAD_TYPE:
            raise AttestationError(f"the envelope's payloadType is not {PAYLOAD_TYPE}")
        if not env.signatures:
            raise AttestationError("the attestation is unsigned")
        _signer, payload = dsse.verify(env, check)
        stmt = strict_json.loads(payload.decode("utf-8", "replace"), what="the signed Statement")
    except BundleError as exc:
        raise AttestationError(f"the attestation does not verify: {exc}") from None
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE:
        raise AttestationError("the signed payload is not an in-toto Statement v1")
    if stmt.get("predicateType") != VSA_PREDICATE_TYPE:
        raise AttestationError("the Statement is not an SLSA Verification Summary (v1)")
    commits = [
        s.get("digest", {}).get("gitCommit") for s in stmt.get("subject", []) if isinstance(s, dict)
    ]
    if head_sha is not None and head_sha not in commits:
        raise AttestationError(f"the attestation is about {commits}, not head {head_sha}")
    return stmt
