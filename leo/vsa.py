"""The verdict as evidence: an in-toto Statement v1 with an SLSA Verification Summary predicate.

``leo verify --attest FILE`` writes the Statement about the head commit in a DSSE envelope.
Signing is not done here: ``sign_envelope`` hands the payload to LEO's signing code
(``leo.bundle``, issue 10), so a verdict is signed exactly as a builder bundle is
(``--sign key:PATH|gpg:KEYID|sigstore``). Verification checks the DSSE signature over the exact
payload bytes first and only then reads the Statement.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.errors import ExitCode, LeoError

if TYPE_CHECKING:
    from leo.models import Report

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
VERIFIER_ID = "https://github.com/leo-gate/leo"
#: LEO's own verified level (SLSA forbids custom values starting with ``SLSA_``).
LEVEL_PASS = "LEO_VERDICT_PASS"  # noqa: S105 (a level name, not a password)
MAX_ATTESTATION_BYTES = 16 * 1024 * 1024

#: Signs the DSSE pre-authentication encoding; returns ``(keyid, signature)``.
Signer = Callable[[bytes], tuple[str, bytes]]
#: True when ``signature`` by ``keyid`` over ``message`` (the PAE bytes) is trusted and valid.
Check = Callable[[str, bytes, bytes], bool]


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


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload_type: str, payload: bytes, signers: Sequence[Signer] = ()) -> str:
    """The DSSE envelope JSON of ``payload`` signed by each of ``signers`` (none: unsigned)."""
    message = pae(payload_type, payload)
    signatures = []
    for signer in signers:
        keyid, sig = signer(message)
        signatures.append({"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")})
    doc = {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payloadType": payload_type,
        "signatures": signatures,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def sign_envelope(payload_type: str, payload: bytes, sign_spec: str | None) -> str:
    """The envelope JSON, signed as ``sign_spec`` says (``key:PATH``, ``gpg:KEYID``,
    ``sigstore``) by LEO's signing code, or unsigned when ``sign_spec`` is None."""
    if sign_spec is None:
        return envelope(payload_type, payload)
    import importlib

    try:
        bundle_sign = importlib.import_module("leo.bundle").sign_envelope
    except (ImportError, AttributeError):
        msg = (
            f"--sign {sign_spec} needs LEO's signing (leo.bundle), which this installation lacks; "
            "drop --sign for an unsigned attestation or install a LEO with `leo bundle`"
        )
        raise LeoError(msg) from None
    signed: str = bundle_sign(payload_type, payload, sign_spec)
    return signed


def write_attestation(report: Report, path: Path, sign_spec: str | None) -> list[str]:
    """Write the signed VSA of ``report`` to ``path``; return warnings (unsigned is one)."""
    payload = json.dumps(statement(report), sort_keys=True, separators=(",", ":")).encode()
    text = sign_envelope(PAYLOAD_TYPE, payload, sign_spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise LeoError(f"cannot write --attest {path}: {exc.strerror}") from None
    if sign_spec is None:
        return [f"the attestation {path} is unsigned (no --sign); verifiers will reject it"]
    return []


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise AttestationError("the attestation repeats a JSON key; it was tampered with")
    return dict(pairs)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise AttestationError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AttestationError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise AttestationError(f"{what} is not canonical base64")
    return raw


def verify_attestation(data: bytes, check: Check, *, head_sha: str | None = None) -> dict[str, Any]:
    """Verify a VSA envelope; return its Statement, read only from the signed bytes.

    Raises ``AttestationError`` when it is malformed, unsigned, signed by no trusted key, not a
    VSA, or about another commit than ``head_sha``.
    """
    if len(data) > MAX_ATTESTATION_BYTES:
        raise AttestationError("the attestation is larger than any LEO writes")
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_strict_object)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AttestationError(f"the attestation is not a DSSE JSON envelope ({exc})") from None
    if not isinstance(doc, dict) or set(doc) != {"payload", "payloadType", "signatures"}:
        raise AttestationError("the attestation is not a DSSE envelope (unexpected fields)")
    if doc["payloadType"] != PAYLOAD_TYPE:
        raise AttestationError(f"the envelope's payloadType is not {PAYLOAD_TYPE}")
    payload = _b64(doc["payload"], "the DSSE payload")
    sigs = doc["signatures"]
    if not isinstance(sigs, list) or not sigs:
        raise AttestationError("the attestation is unsigned")
    message = pae(PAYLOAD_TYPE, payload)
    verified = False
    for entry in sigs[:8]:
        if not isinstance(entry, dict) or set(entry) - {"keyid", "sig"}:
            raise AttestationError("a DSSE signature entry is malformed")
        keyid = entry.get("keyid", "")
        if not isinstance(keyid, str):
            raise AttestationError("a DSSE signature's keyid is not a string")
        if check(keyid, _b64(entry.get("sig"), "a DSSE signature"), message):
            verified = True
            break
    if not verified:
        raise AttestationError("no signature on the attestation verifies with the trusted key")
    try:
        stmt = json.loads(payload.decode("utf-8"), object_pairs_hook=_strict_object)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AttestationError("the signed payload is not JSON") from None
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
